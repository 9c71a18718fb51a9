/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Record layout shared by the eBPF program (sensor.bpf.c) and the loader.
 * The TypeScript decoder (src/decoder.ts) mirrors it; docs/sensor.md documents
 * it. Any change to a struct here must bump SAKER_STREAM_VERSION.
 *
 * All integers are little-endian (the sensor is x86_64-only for now).
 */
#ifndef SAKER_SENSOR_H
#define SAKER_SENSOR_H

#define SAKER_STREAM_VERSION 2 /* 2: P_PROCSTATE, P_ENV, RF_ENV_TRUNCATED, exe_info.writable */

/* Record kinds: first u16 of every ring-buffer record, and the frame type. */
#define REC_SYSCALL 1
#define REC_EXEC 2
#define REC_FORK 3
#define REC_EXIT 4
#define REC_STATS 16 /* produced by the loader, never by the probe */

/* Param types: a record's variable part is a list of {u8 type, u8 argi, u16 len, bytes}. */
#define P_USTR 1      /* NUL-terminated string read from user memory at args[argi] */
#define P_DIRPATH 2   /* base dir of a relative path in args[argi]: path components leaf->root, each NUL-terminated */
#define P_FDPATH 3    /* path of the file behind an fd: components leaf->root; argi = arg index, 0xff = return value */
#define P_FDINFO 4    /* struct fd_info */
#define P_SOCKTUPLE 5 /* struct sock_tuple read from the kernel socket */
#define P_SOCKADDR 6  /* raw user struct bytes at args[argi]: a struct sockaddr, or openat2's struct open_how */
#define P_ARGV 7      /* argv of the new image: NUL-separated, from mm->arg_start */
#define P_EXEPATH 8   /* components of mm->exe_file leaf->root */
#define P_CWD 9       /* components of fs->pwd leaf->root */
#define P_CGROUP 10   /* kernfs node names of the default-hierarchy cgroup leaf->root */
#define P_EXEINFO 11  /* struct exe_info */
#define P_USTR2 12    /* second user string when one arg needs two reads (reserved) */
#define P_PROCSTATE 13 /* struct proc_state of the task (exec and fork records, successful execve) */
#define P_ENV 14      /* environment of the new image: NUL-separated, from mm->env_start, at most ENV_MAX bytes */

#define ARGI_RET 0xff

/* Record flags */
#define RF_TRUNCATED 0x1      /* a param was cut short or left out: scratch limit */
#define RF_ARGV_TRUNCATED 0x2 /* argv longer than ARGV_MAX */
#define RF_PATH_TRUNCATED 0x4 /* a path had more than PATH_DEPTH components */
#define RF_COMPAT 0x8         /* 32-bit (ia32) task: args are not decoded */
#define RF_ENV_TRUNCATED 0x10 /* environment longer than ENV_MAX */

#define TASK_COMM_LEN_ 16

struct rec_hdr {
	unsigned short kind;      /* REC_* */
	unsigned short syscall;   /* x86_64 syscall number (REC_SYSCALL) */
	unsigned short nparams;
	unsigned short flags;     /* RF_* */
	unsigned int size;        /* bytes of this record, header included */
	unsigned int cpu;
	unsigned long long ts;    /* CLOCK_BOOTTIME ns at exit */
	long long ret;            /* return value (REC_SYSCALL) */
	unsigned long long args[6];
	unsigned int pid;         /* tgid */
	unsigned int tid;
	unsigned int ppid;        /* real_parent->tgid */
	unsigned int uid;
	unsigned int gid;
	unsigned int euid;
	unsigned int egid;
	unsigned int loginuid;
	unsigned int tty;         /* MKDEV(major, minor_start + index), kernel encoding major<<20|minor */
	unsigned int mntns;
	unsigned int pidns;
	unsigned int vpid;
	unsigned int vtid;
	unsigned int sid;         /* session id (host pid namespace) */
	unsigned long long cgroup_id;
	unsigned long long start_boottime; /* task start, CLOCK_BOOTTIME ns */
	char comm[TASK_COMM_LEN_];
};

struct param_hdr {
	unsigned char type;
	unsigned char argi;
	unsigned short len;
};

struct fd_info {
	int fd;
	unsigned int mode;        /* inode i_mode (S_IFMT bits tell the type) */
	unsigned long long ino;
	unsigned int dev;         /* superblock s_dev */
	unsigned int nlink;
	unsigned short sock_family; /* AF_* when the fd is a socket */
	unsigned short sock_type;
	unsigned short sock_proto;
	unsigned short pad;
	unsigned long long sb_magic;
};

struct sock_tuple {
	unsigned short family;    /* AF_INET / AF_INET6 / AF_UNIX */
	unsigned short proto;     /* IPPROTO_* (sk_protocol) */
	unsigned short lport;     /* host order */
	unsigned short rport;     /* host order */
	unsigned char laddr[16];  /* v4 in the first 4 bytes */
	unsigned char raddr[16];
	unsigned short sk_type;   /* SOCK_STREAM, ... */
	unsigned char state;
	unsigned char pad[5];
};

struct exe_info {
	unsigned long long ino;
	unsigned long long ctime_ns;
	unsigned long long mtime_ns;
	unsigned long long sb_magic;
	unsigned int nlink;
	unsigned int dev;
	unsigned int upper_layer;  /* 1: overlayfs inode with an upper dentry */
	unsigned int writable;     /* 1: the task's fsuid/fsgid (or CAP_DAC_OVERRIDE/CAP_FOWNER) may write the file */
};

/* Process state read at exec and fork (it changes rarely: never per syscall). */
struct proc_state {
	unsigned long long cap_inheritable; /* kernel capability bit sets of the task's cred */
	unsigned long long cap_permitted;
	unsigned long long cap_effective;
	unsigned int pgid;         /* process group, host pid namespace */
	unsigned int vpgid;        /* process group in the task's own pid namespace (0: outside it) */
};

/* Per-CPU drop/seen counters (one struct per CPU in a PERCPU_ARRAY). */
struct sensor_stats {
	unsigned long long seen;              /* records submitted */
	unsigned long long drop_ringbuf;      /* ring buffer full */
	unsigned long long drop_scratch;      /* record did not fit the scratch buffer */
	unsigned long long drop_missing_enter;/* successful exec without its register snapshot (exec began before attach) */
	unsigned long long drop_enter_full;   /* no task-storage slot for the thread (allocation failed or busy): call not recorded */
	unsigned long long truncated;         /* records emitted with RF_TRUNCATED */
};

#endif
