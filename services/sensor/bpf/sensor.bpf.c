// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * Saker sensor probe: captures the system calls that the loaded rules need and
 * the process lifecycle (exec/fork/exit), and hands them to user space over a
 * BPF ring buffer.
 *
 * Flow: sys_enter saves the raw arguments of an interesting call in `enters`
 * (keyed by pid_tgid); sys_exit takes them back, builds a record in the
 * per-CPU `scratch` buffer (fixed header + a list of params, see sensor.h) and
 * copies it to the ring buffer. Strings and paths are read at exit: by then
 * the kernel has resolved the call, and for a successful execve the old
 * image's memory is gone, so argv/exe come from the new mm.
 *
 * Paths are emitted as components, leaf first, because walking dentries goes
 * upward; user space reverses and joins them. That keeps every write in the
 * scratch buffer forward-only and easy for the verifier to bound.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "sensor.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SCRATCH_SIZE 16384
#define NAME_READ 256      /* one path component (NAME_MAX + 1) */
#define USTR_READ 4096     /* a user string (PATH_MAX) */
#define ARGV_MAX 4096
#define PATH_DEPTH 40      /* loop budget for a dentry walk, mount crossings included */
#define CGROUP_DEPTH 12
#define SOCKADDR_MAX 128
#define MAX_SYSCALL 512
#define AT_FDCWD_ (-100)

#define S_IFMT_ 00170000
#define S_IFSOCK_ 0140000
#define S_IFDIR_ 0040000
#define OVERLAYFS_MAGIC 0x794c7630

/* Set by the loader before load: our own tgid, so the loader never traces itself. */
const volatile __u32 self_tgid = 0;

struct enter_args {
	__u64 id;
	__u64 args[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, struct enter_args);
} enters SEC(".maps");

/* syscall id -> 1 when some loaded rule needs it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALL);
	__type(key, __u32);
	__type(value, __u8);
} interest SEC(".maps");

struct scratch_buf {
	__u8 buf[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_buf);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sensor_stats);
} stats SEC(".maps");

/* Kernel 6.15 renamed kernfs_node.parent to __parent; accept both. */
struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* Only the two fields we need; resolved against vmlinux or the overlay module's BTF. */
struct ovl_inode___saker {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
} __attribute__((preserve_access_index));

static __always_inline struct sensor_stats *get_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats, &zero);
}

#define COUNT(field)                                                                               \
	do {                                                                                       \
		struct sensor_stats *s__ = get_stats();                                            \
		if (s__)                                                                           \
			__sync_fetch_and_add(&s__->field, 1);                                      \
	} while (0)

static __always_inline int interesting(__u64 id)
{
	__u32 k = (__u32)id;
	if (id >= MAX_SYSCALL)
		return 0;
	__u8 *v = bpf_map_lookup_elem(&interest, &k);
	return v && *v;
}

static __always_inline __u8 *get_scratch(void)
{
	__u32 zero = 0;
	struct scratch_buf *s = bpf_map_lookup_elem(&scratch, &zero);
	return s ? s->buf : NULL;
}

/* ---------- header ---------- */

static __always_inline __u32 task_tty(struct task_struct *t)
{
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (!tty)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	int major = BPF_CORE_READ(tty, driver, major);
	int minor = BPF_CORE_READ(tty, driver, minor_start);
	return ((__u32)major << 20) | (__u32)(minor + index);
}

static __always_inline __u64 task_cgroup_kn(struct task_struct *t)
{
	return (__u64)BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
}

static __always_inline void fill_hdr(__u8 *buf, __u16 kind, struct task_struct *t)
{
	struct rec_hdr *h = (struct rec_hdr *)buf;
	__builtin_memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->size = sizeof(*h);
	h->cpu = bpf_get_smp_processor_id();
	h->ts = bpf_ktime_get_boot_ns();
	h->pid = BPF_CORE_READ(t, tgid);
	h->tid = BPF_CORE_READ(t, pid);
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->uid = BPF_CORE_READ(t, cred, uid.val);
	h->gid = BPF_CORE_READ(t, cred, gid.val);
	h->euid = BPF_CORE_READ(t, cred, euid.val);
	h->egid = BPF_CORE_READ(t, cred, egid.val);
	if (bpf_core_field_exists(t->loginuid))
		h->loginuid = BPF_CORE_READ(t, loginuid.val);
	else
		h->loginuid = 0xffffffff;
	h->tty = task_tty(t);
	h->mntns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(tp, level);
	struct upid up = {};
	bpf_probe_read_kernel(&up, sizeof(up), &tp->numbers[level & 31]);
	h->vtid = up.nr;
	h->pidns = BPF_CORE_READ(up.ns, ns.inum);
	struct pid *lp = BPF_CORE_READ(t, group_leader, thread_pid);
	struct upid lup = {};
	bpf_probe_read_kernel(&lup, sizeof(lup), &lp->numbers[level & 31]);
	h->vpid = lup.nr;
	struct kernfs_node *kn = (struct kernfs_node *)task_cgroup_kn(t);
	h->cgroup_id = BPF_CORE_READ(kn, id);
	h->start_boottime = BPF_CORE_READ(t, start_boottime);
	bpf_probe_read_kernel_str(h->comm, sizeof(h->comm), t->comm);
}

/* ---------- params ---------- */

/* Reserve room for a param of at most `max` payload bytes; returns its offset or -1. */
static __always_inline int param_room(__u8 *buf, __u32 max)
{
	struct rec_hdr *h = (struct rec_hdr *)buf;
	__u32 off = h->size;
	if (off > SCRATCH_SIZE - sizeof(struct param_hdr) - max) {
		h->flags |= RF_TRUNCATED;
		return -1;
	}
	return off;
}

static __always_inline void param_commit(__u8 *buf, __u32 off, __u8 type, __u8 argi, __u32 len)
{
	struct rec_hdr *h = (struct rec_hdr *)buf;
	if (off > SCRATCH_SIZE - sizeof(struct param_hdr))
		return;
	struct param_hdr *p = (struct param_hdr *)(buf + off);
	p->type = type;
	p->argi = argi;
	p->len = len;
	h->size = off + sizeof(struct param_hdr) + len;
	h->nparams++;
}

static __noinline int put_ustr(__u8 *buf, __u8 type, __u8 argi, __u64 uptr)
{
	if (!buf)
		return 0;
	int off = param_room(buf, USTR_READ);
	if (off < 0 || off > SCRATCH_SIZE - sizeof(struct param_hdr) - USTR_READ)
		return -1;
	long n = bpf_probe_read_user_str(buf + off + sizeof(struct param_hdr), USTR_READ,
					 (const void *)uptr);
	if (n < 0)
		n = 0;
	param_commit(buf, off, type, argi, n);
	return n;
}

static __noinline int put_ubytes(__u8 *buf, __u8 type, __u8 argi, __u64 uptr, __u64 len)
{
	if (!buf)
		return 0;
	int off = param_room(buf, SOCKADDR_MAX);
	if (off < 0 || off > SCRATCH_SIZE - sizeof(struct param_hdr) - SOCKADDR_MAX)
		return -1;
	if (len > SOCKADDR_MAX)
		len = SOCKADDR_MAX;
	if (bpf_probe_read_user(buf + off + sizeof(struct param_hdr), len, (const void *)uptr) < 0)
		len = 0;
	param_commit(buf, off, type, argi, len);
	return 0;
}

/*
 * Path walks use bpf_loop so the verifier checks the loop body once instead
 * of every iteration of every call site (unrolled, the mount-crossing branch
 * doubles the states per level).
 */
struct walk_ctx {
	__u64 d;    /* struct dentry * / struct kernfs_node * */
	__u64 mnt;  /* struct mount * */
	__u32 pos;  /* write offset in the scratch buffer */
	__u32 complete;
	__u32 truncated;
};

static long path_step(__u32 i, struct walk_ctx *c)
{
	__u8 *buf = get_scratch();
	if (!buf)
		return 1;
	struct dentry *d = (struct dentry *)c->d;
	struct mount *mnt = (struct mount *)c->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == mnt_root) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (mp == mnt || !mp) {
			c->complete = 1;
			return 1;
		}
		c->d = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = (__u64)mp;
		return 0;
	}
	if (!d) {
		c->complete = 1;
		return 1;
	}
	__u32 pos = c->pos;
	if (pos > SCRATCH_SIZE - NAME_READ) {
		c->truncated = 1;
		return 1;
	}
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	long n = bpf_probe_read_kernel_str(buf + pos, NAME_READ, name);
	if (n <= 0)
		return 1;
	if (d == parent) {
		/* A disconnected dentry (memfd, other pseudo files) is its own parent
		 * but still has a name worth keeping; a filesystem root's is "/". */
		if (buf[pos & (SCRATCH_SIZE - 1)] != '/')
			c->pos = pos + n;
		c->complete = 1;
		return 1;
	}
	c->pos = pos + n;
	c->d = (__u64)parent;
	return 0;
}

/*
 * Emits the components of (dentry, vfsmount) from the leaf up to the root of
 * the mount tree, each NUL-terminated. Crosses mount points through struct
 * mount; stops at a mount that is its own parent.
 */
static __noinline int put_path(__u8 *buf, __u8 type, __u8 argi, struct dentry *d, struct vfsmount *vm)
{
	if (!buf || !d || !vm)
		return 0;
	struct rec_hdr *h = (struct rec_hdr *)buf;
	int start = param_room(buf, 0);
	if (start < 0 || start > SCRATCH_SIZE - sizeof(struct param_hdr))
		return -1;
	struct walk_ctx c = {
		.d = (__u64)d,
		.mnt = (__u64)container_of(vm, struct mount, mnt),
		.pos = start + sizeof(struct param_hdr),
	};
	bpf_loop(PATH_DEPTH, path_step, &c, 0);
	if (c.truncated)
		h->flags |= RF_TRUNCATED;
	if (!c.complete)
		h->flags |= RF_PATH_TRUNCATED;
	__u32 len = c.pos - start - sizeof(struct param_hdr);
	param_commit(buf, start, type, argi, len);
	return 0;
}

static long cgroup_step(__u32 i, struct walk_ctx *c)
{
	__u8 *buf = get_scratch();
	struct kernfs_node *kn = (struct kernfs_node *)c->d;
	if (!buf || !kn)
		return 1;
	struct kernfs_node *parent;
	if (bpf_core_field_exists(struct kernfs_node___new, __parent))
		parent = BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	else
		parent = BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
	if (!parent) {
		c->complete = 1; /* the hierarchy root has no name worth emitting */
		return 1;
	}
	__u32 pos = c->pos;
	if (pos > SCRATCH_SIZE - NAME_READ) {
		c->truncated = 1;
		return 1;
	}
	const char *name = BPF_CORE_READ(kn, name);
	long n = bpf_probe_read_kernel_str(buf + pos, NAME_READ, name);
	if (n <= 0)
		return 1;
	c->pos = pos + n;
	c->d = (__u64)parent;
	return 0;
}

static __noinline int put_cgroup(__u8 *buf, struct task_struct *t)
{
	if (!buf)
		return 0;
	struct rec_hdr *h = (struct rec_hdr *)buf;
	int start = param_room(buf, 0);
	if (start < 0 || start > SCRATCH_SIZE - sizeof(struct param_hdr))
		return -1;
	struct walk_ctx c = {
		.d = task_cgroup_kn(t),
		.pos = start + sizeof(struct param_hdr),
	};
	bpf_loop(CGROUP_DEPTH, cgroup_step, &c, 0);
	if (c.truncated)
		h->flags |= RF_TRUNCATED;
	if (!c.complete)
		h->flags |= RF_PATH_TRUNCATED;
	param_commit(buf, start, P_CGROUP, 0, c.pos - start - sizeof(struct param_hdr));
	return 0;
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	struct file **arr = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

static __always_inline int put_fdinfo(__u8 *buf, __u8 argi, long fd, struct file *f)
{
	int off = param_room(buf, sizeof(struct fd_info));
	if (off < 0 || off > SCRATCH_SIZE - sizeof(struct param_hdr) - sizeof(struct fd_info))
		return -1;
	struct fd_info *fi = (struct fd_info *)(buf + off + sizeof(struct param_hdr));
	__builtin_memset(fi, 0, sizeof(*fi));
	fi->fd = fd;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	fi->mode = BPF_CORE_READ(ino, i_mode);
	fi->ino = BPF_CORE_READ(ino, i_ino);
	fi->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	fi->nlink = BPF_CORE_READ(ino, __i_nlink);
	fi->sb_magic = BPF_CORE_READ(ino, i_sb, s_magic);
	if ((fi->mode & S_IFMT_) == S_IFSOCK_) {
		struct socket *sock = BPF_CORE_READ(f, private_data);
		struct sock *sk = BPF_CORE_READ(sock, sk);
		fi->sock_family = BPF_CORE_READ(sk, __sk_common.skc_family);
		fi->sock_type = BPF_CORE_READ(sk, sk_type);
		fi->sock_proto = BPF_CORE_READ(sk, sk_protocol);
	}
	param_commit(buf, off, P_FDINFO, argi, sizeof(struct fd_info));
	return 0;
}

static __always_inline int put_socktuple(__u8 *buf, __u8 argi, struct file *f)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	__u32 mode = BPF_CORE_READ(ino, i_mode);
	if ((mode & S_IFMT_) != S_IFSOCK_)
		return 0;
	int off = param_room(buf, sizeof(struct sock_tuple));
	if (off < 0 || off > SCRATCH_SIZE - sizeof(struct param_hdr) - sizeof(struct sock_tuple))
		return -1;
	struct sock_tuple *st = (struct sock_tuple *)(buf + off + sizeof(struct param_hdr));
	__builtin_memset(st, 0, sizeof(*st));
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	st->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	st->proto = BPF_CORE_READ(sk, sk_protocol);
	st->sk_type = BPF_CORE_READ(sk, sk_type);
	st->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	st->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	st->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (st->family == 2 /* AF_INET */) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(st->laddr, &l, 4);
		__builtin_memcpy(st->raddr, &r, 4);
	} else if (st->family == 10 /* AF_INET6 */) {
		BPF_CORE_READ_INTO(&st->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&st->raddr, sk, __sk_common.skc_v6_daddr);
	}
	param_commit(buf, off, P_SOCKTUPLE, argi, sizeof(struct sock_tuple));
	return 0;
}

/* fd info + path (files) or tuple (sockets) for the fd in args[argi] or the return value. */
static __noinline int put_fd(__u8 *buf, __u8 argi, long fd, int with_tuple)
{
	if (!buf)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *f = fd_file(t, fd);
	if (!f)
		return 0;
	put_fdinfo(buf, argi, fd, f);
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	__u32 mode = BPF_CORE_READ(ino, i_mode);
	if ((mode & S_IFMT_) == S_IFSOCK_) {
		if (with_tuple)
			put_socktuple(buf, argi, f);
		return 0;
	}
	put_path(buf, P_FDPATH, argi, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
	return 0;
}

static __always_inline int put_cwd(__u8 *buf, __u8 type, __u8 argi)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct dentry *d = BPF_CORE_READ(t, fs, pwd.dentry);
	struct vfsmount *m = BPF_CORE_READ(t, fs, pwd.mnt);
	return put_path(buf, type, argi, d, m);
}

/*
 * A path argument: the string as passed and, when it is relative, the
 * directory it is relative to (cwd or the file of dirfd) so that user space
 * can make it absolute.
 */
static __noinline int put_upath(__u8 *buf, __u8 argi, __u64 uptr, long dirfd)
{
	if (!buf)
		return 0;
	int off = param_room(buf, USTR_READ);
	if (off < 0 || off > SCRATCH_SIZE - sizeof(struct param_hdr) - USTR_READ)
		return -1;
	put_ustr(buf, P_USTR, argi, uptr);
	char first = 0;
	bpf_probe_read_kernel(&first, 1, buf + off + sizeof(struct param_hdr));
	if (first == '/' || first == 0)
		return 0;
	if ((int)dirfd == AT_FDCWD_) {
		put_cwd(buf, P_DIRPATH, argi);
	} else {
		struct task_struct *t = bpf_get_current_task_btf();
		struct file *f = fd_file(t, (int)dirfd);
		if (f)
			put_path(buf, P_DIRPATH, argi, BPF_CORE_READ(f, f_path.dentry),
				 BPF_CORE_READ(f, f_path.mnt));
	}
	return 0;
}

/* argv, exe path, cwd and exe facts of the current (just exec'd) image. */
static __noinline int put_exec_info(__u8 *buf)
{
	if (!buf)
		return 0;
	struct rec_hdr *h = (struct rec_hdr *)buf;
	struct task_struct *t = bpf_get_current_task_btf();
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	if (!mm)
		return 0;
	unsigned long as = BPF_CORE_READ(mm, arg_start);
	unsigned long ae = BPF_CORE_READ(mm, arg_end);
	int off = param_room(buf, ARGV_MAX);
	if (off >= 0 && off <= SCRATCH_SIZE - sizeof(struct param_hdr) - ARGV_MAX) {
		unsigned long len = ae > as ? ae - as : 0;
		if (len > ARGV_MAX) {
			len = ARGV_MAX;
			h->flags |= RF_ARGV_TRUNCATED;
		}
		if (bpf_probe_read_user(buf + off + sizeof(struct param_hdr), len, (const void *)as) < 0)
			len = 0;
		param_commit(buf, off, P_ARGV, 0, len);
	}

	struct file *exe = BPF_CORE_READ(mm, exe_file);
	if (exe) {
		put_path(buf, P_EXEPATH, 0, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt));
		int eo = param_room(buf, sizeof(struct exe_info));
		if (eo >= 0 && eo <= SCRATCH_SIZE - sizeof(struct param_hdr) - sizeof(struct exe_info)) {
			struct exe_info *ei = (struct exe_info *)(buf + eo + sizeof(struct param_hdr));
			__builtin_memset(ei, 0, sizeof(*ei));
			struct inode *ino = BPF_CORE_READ(exe, f_inode);
			ei->ino = BPF_CORE_READ(ino, i_ino);
			ei->nlink = BPF_CORE_READ(ino, __i_nlink);
			ei->dev = BPF_CORE_READ(ino, i_sb, s_dev);
			ei->sb_magic = BPF_CORE_READ(ino, i_sb, s_magic);
			if (bpf_core_field_exists(ino->i_ctime_sec)) {
				ei->ctime_ns = BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ULL +
					       BPF_CORE_READ(ino, i_ctime_nsec);
				ei->mtime_ns = BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ULL +
					       BPF_CORE_READ(ino, i_mtime_nsec);
			}
			/* overlayfs: the inode is embedded in ovl_inode; a non-NULL
			 * __upperdentry means the file lives on (or was copied up to) the
			 * writable upper layer. Best effort: needs ovl_inode in BTF. */
			if (ei->sb_magic == OVERLAYFS_MAGIC &&
			    bpf_core_field_exists(struct ovl_inode___saker, __upperdentry)) {
				__u32 vo = bpf_core_field_offset(struct ovl_inode___saker, vfs_inode);
				__u32 uo = bpf_core_field_offset(struct ovl_inode___saker, __upperdentry);
				struct dentry *upper = NULL;
				bpf_probe_read_kernel(&upper, sizeof(upper), (void *)ino - vo + uo);
				ei->upper_layer = upper != NULL;
			}
			param_commit(buf, eo, P_EXEINFO, 0, sizeof(struct exe_info));
		}
	}
	put_cwd(buf, P_CWD, 0);
	return 0;
}

static __always_inline void submit(__u8 *buf)
{
	struct rec_hdr *h = (struct rec_hdr *)buf;
	__u32 size = h->size;
	if (h->flags & RF_TRUNCATED)
		COUNT(truncated);
	if (size > SCRATCH_SIZE) {
		COUNT(drop_scratch);
		return;
	}
	if (bpf_ringbuf_output(&events, buf, size, 0) < 0) {
		COUNT(drop_ringbuf);
		return;
	}
	COUNT(seen);
}

/* ---------- syscalls ---------- */

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	if (!interesting(id))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((pid_tgid >> 32) == self_tgid)
		return 0;
	struct enter_args e = { .id = id };
	e.args[0] = BPF_CORE_READ(regs, di);
	e.args[1] = BPF_CORE_READ(regs, si);
	e.args[2] = BPF_CORE_READ(regs, dx);
	e.args[3] = BPF_CORE_READ(regs, r10);
	e.args[4] = BPF_CORE_READ(regs, r8);
	e.args[5] = BPF_CORE_READ(regs, r9);
	if (bpf_map_update_elem(&enters, &pid_tgid, &e, BPF_ANY) < 0)
		COUNT(drop_enter_full);
	return 0;
}

static __always_inline void syscall_params(__u8 *buf, __u64 id, __u64 *a, long ret)
{
	switch (id) {
	case 2:  /* open */
	case 85: /* creat */
		put_upath(buf, 0, a[0], AT_FDCWD_);
		put_fd(buf, ARGI_RET, ret, 0);
		break;
	case 257: /* openat */
	case 437: /* openat2 */
		put_upath(buf, 1, a[1], a[0]);
		put_fd(buf, ARGI_RET, ret, 0);
		break;
	case 319: /* memfd_create */
		put_ustr(buf, P_USTR, 0, a[0]);
		put_fd(buf, ARGI_RET, ret, 0);
		break;
	case 59: /* execve */
		if (ret == 0)
			put_exec_info(buf);
		else
			put_upath(buf, 0, a[0], AT_FDCWD_);
		break;
	case 322: /* execveat */
		if (ret == 0)
			put_exec_info(buf);
		else
			put_upath(buf, 1, a[1], a[0]);
		break;
	case 87:  /* unlink */
	case 84:  /* rmdir */
	case 83:  /* mkdir */
	case 90:  /* chmod */
	case 92:  /* chown */
	case 94:  /* lchown */
	case 166: /* umount2 */
		put_upath(buf, 0, a[0], AT_FDCWD_);
		break;
	case 263: /* unlinkat */
	case 258: /* mkdirat */
	case 268: /* fchmodat */
	case 452: /* fchmodat2 */
	case 260: /* fchownat */
		put_upath(buf, 1, a[1], a[0]);
		break;
	case 82: /* rename */
	case 86: /* link */
		put_upath(buf, 0, a[0], AT_FDCWD_);
		put_upath(buf, 1, a[1], AT_FDCWD_);
		break;
	case 88: /* symlink: the target is stored as given */
		put_ustr(buf, P_USTR, 0, a[0]);
		put_upath(buf, 1, a[1], AT_FDCWD_);
		break;
	case 264: /* renameat */
	case 316: /* renameat2 */
	case 265: /* linkat */
		put_upath(buf, 1, a[1], a[0]);
		put_upath(buf, 3, a[3], a[2]);
		break;
	case 266: /* symlinkat */
		put_ustr(buf, P_USTR, 0, a[0]);
		put_upath(buf, 2, a[2], a[1]);
		break;
	case 91:  /* fchmod */
	case 93:  /* fchown */
	case 313: /* finit_module */
		put_fd(buf, 0, a[0], 0);
		break;
	case 42: /* connect */
	case 49: /* bind */
		if (a[1])
			put_ubytes(buf, P_SOCKADDR, 1, a[1], a[2]);
		put_fd(buf, 0, a[0], 1);
		break;
	case 44: /* sendto */
		if (a[4])
			put_ubytes(buf, P_SOCKADDR, 4, a[4], a[5]);
		put_fd(buf, 0, a[0], 1);
		break;
	case 46: /* sendmsg */
	case 50: /* listen */
		put_fd(buf, 0, a[0], 1);
		break;
	case 43:  /* accept */
	case 288: /* accept4 */
	case 41:  /* socket */
		put_fd(buf, ARGI_RET, ret, 1);
		break;
	case 32:  /* dup */
	case 33:  /* dup2 */
	case 292: /* dup3 */
		put_fd(buf, ARGI_RET, ret, 1);
		break;
	case 165: /* mount */
		put_ustr(buf, P_USTR, 0, a[0]);
		put_upath(buf, 1, a[1], AT_FDCWD_);
		put_ustr(buf, P_USTR, 2, a[2]);
		break;
	default:
		break;
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct enter_args *saved = bpf_map_lookup_elem(&enters, &pid_tgid);
	if (!saved) {
		/* Only count calls we care about; everything else exits here too. */
		__u64 id = BPF_CORE_READ(regs, orig_ax);
		if (interesting(id) && (pid_tgid >> 32) != self_tgid)
			COUNT(drop_missing_enter);
		return 0;
	}
	struct enter_args e = *saved;
	bpf_map_delete_elem(&enters, &pid_tgid);

	__u8 *buf = get_scratch();
	if (!buf)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	fill_hdr(buf, REC_SYSCALL, t);
	struct rec_hdr *h = (struct rec_hdr *)buf;
	h->syscall = e.id;
	h->ret = ret;
	for (int i = 0; i < 6; i++)
		h->args[i] = e.args[i];
	syscall_params(buf, e.id, e.args, ret);
	put_cgroup(buf, t);
	submit(buf);
	return 0;
}

/* ---------- process lifecycle (always on: it feeds the process table) ---------- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (p->tgid == self_tgid)
		return 0;
	__u8 *buf = get_scratch();
	if (!buf)
		return 0;
	fill_hdr(buf, REC_EXEC, p);
	((struct rec_hdr *)buf)->args[0] = old_pid;
	put_exec_info(buf);
	put_cgroup(buf, p);
	submit(buf);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	/* Threads share their process's entry in the table: only new processes matter. */
	if (child->pid != child->tgid)
		return 0;
	__u8 *buf = get_scratch();
	if (!buf)
		return 0;
	fill_hdr(buf, REC_FORK, child);
	((struct rec_hdr *)buf)->args[0] = parent->tgid;
	put_cgroup(buf, child);
	submit(buf);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u64 key = ((__u64)p->tgid << 32) | (__u32)p->pid;
	/* A thread that dies inside a blocking call never reaches sys_exit. */
	bpf_map_delete_elem(&enters, &key);
	if (p->pid != p->tgid)
		return 0;
	__u8 *buf = get_scratch();
	if (!buf)
		return 0;
	fill_hdr(buf, REC_EXIT, p);
	((struct rec_hdr *)buf)->ret = BPF_CORE_READ(p, exit_code);
	submit(buf);
	return 0;
}
