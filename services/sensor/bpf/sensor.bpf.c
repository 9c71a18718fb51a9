// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * Saker sensor probe: captures the system calls that the loaded rules need and
 * the process lifecycle (exec/fork/exit), and hands them to user space over a
 * BPF ring buffer.
 *
 * Flow: there is no sys_enter hook. sys_exit checks the interest map first,
 * reads the six argument registers from the task's pt_regs (a successful
 * exec takes them from the snapshot task_rename made), and builds the record:
 * - the common open (absolute path) in a fixed-size ring reservation, in
 *   place (open_fast);
 * - header-only records (raw-args syscalls, process exit) in a reservation
 *   of the header's size;
 * - everything else in the per-CPU `scratch` buffer (fixed header + a list of
 *   params, see sensor.h), copied to the ring with bpf_ringbuf_output.
 * Under load every submit passes BPF_RB_NO_WAKEUP and the loader drains the
 * ring on a 10 ms timer; while the ring is idle the loader asks for a wakeup
 * on the first record (wake_when_idle). Strings and paths are read at exit: by then the kernel has
 * resolved the call, and for a successful execve the old image's memory is
 * gone, so argv/exe come from the new mm.
 *
 * The cgroup path (a kernfs walk) is sent once per cgroup id (`cg_sent`),
 * and always on exec/fork; other records carry only the id.
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
#define ENV_MAX 2048
#define PATH_DEPTH 40      /* loop budget for a dentry walk, mount crossings included */
#define CGROUP_DEPTH 12
#define SOCKADDR_MAX 128
#define MAX_SYSCALL 512
#define AT_FDCWD_ (-100)

#define S_IFMT_ 00170000
#define S_IFSOCK_ 0140000
#define S_IFDIR_ 0040000
#define OVERLAYFS_MAGIC 0x794c7630
#define SB_RDONLY_ 1
#define S_IMMUTABLE_ 8
#define CAP_DAC_OVERRIDE_ 1
#define CAP_FOWNER_ 3

/* Set by the loader before load: our own tgid, so the loader never traces itself. */
const volatile __u32 self_tgid = 0;

/* Per-thread facts that never change for the task, read once. */
struct id_cache {
	__u32 ns_valid;
	__u32 vtid;
	__u32 vpid;
	__u32 pidns;
};

/* The thread's task storage: the exec snapshot (id is the syscall id + 1, 0 = none) and its id_cache. */
struct enter_args {
	__u64 id;
	__u64 args[6];
	struct id_cache ids;
};

/*
 * The id_cache of the thread that last made a captured call on this CPU, so
 * that a run of calls by one thread (the common case between context
 * switches) skips the task-storage lookup. A task_struct freed and reused
 * for another thread does not match: the tid and start time are compared
 * too.
 */
struct cpu_last {
	__u64 task;
	__u64 start;
	__u32 tid;
	__u32 pad;
	struct id_cache ids;
	/*
	 * The last cgroup id user space is known to have the path of (spares the
	 * cg_sent lookup). Not per thread: cgroup ids are unique per boot, and
	 * threads that follow each other on a CPU are mostly in the same cgroup.
	 */
	__u64 cg_ok;
};

/* Read-only cast of a kernel address to a BTF type: direct (PROBE_MEM) loads instead of helper calls. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define RDONLY_CAST(type, p) ((type *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(type)))

/*
 * 16 MiB (Falco's default is 8 MiB per CPU): ~50k in-place open records
 * (328 bytes of ring each), a burst of a few hundred ms while user space
 * catches up.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/*
 * Per-thread enter slot in task-local storage: no hashing, no bucket lock, no
 * delete, and it goes away with the task (a thread that dies inside a
 * blocking call leaves nothing behind).
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct enter_args);
} enters SEC(".maps");

/* syscall id -> 1 when some loaded rule needs it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALL);
	__type(key, __u32);
	__type(value, __u8);
} interest SEC(".maps");

/*
 * Cgroup ids (kernfs node ids, unique per boot) whose path user space has
 * already received. A syscall record carries only cgroup_id when its cgroup
 * is in here; exec and fork records always carry the path.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} cg_sent SEC(".maps");

struct scratch_buf {
	__u8 buf[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_last);
} last_task SEC(".maps");

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

/*
 * Header fields are read with direct BTF loads (t->signal->tty, ...): the
 * task pointer is trusted in tp_btf programs, so each load is one instruction
 * with an exception-table fixup instead of a bpf_probe_read_kernel call.
 * Only the variable-index upid reads still go through the helper.
 */
static __always_inline __u32 task_tty(struct task_struct *t)
{
	struct tty_struct *tty = t->signal->tty;
	if (!tty)
		return 0;
	int index = tty->index;
	int major = tty->driver->major;
	int minor = tty->driver->minor_start;
	return ((__u32)major << 20) | (__u32)(minor + index);
}

static __always_inline __u64 task_cgroup_kn(struct task_struct *t)
{
	return (__u64)t->cgroups->dfl_cgrp->kn;
}

static __always_inline __u64 task_cgroup_id(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
}

/* vtid, vpid and the pid namespace inum: the upid entry at the task's own level. */
static __always_inline void task_vids(struct task_struct *t, __u32 *vtid, __u32 *vpid, __u32 *pidns)
{
	struct pid *tp = t->thread_pid;
	unsigned int level = tp->level;
	struct upid up = {};
	bpf_probe_read_kernel(&up, sizeof(up), &tp->numbers[level & 31]);
	*vtid = up.nr;
	*pidns = BPF_CORE_READ(up.ns, ns.inum);
	struct pid *lp = t->group_leader->thread_pid;
	struct upid lup = {};
	bpf_probe_read_kernel(&lup, sizeof(lup), &lp->numbers[level & 31]);
	*vpid = lup.nr;
}

/*
 * The record header. `cache` is the current thread's id_cache (or NULL
 * for another task): a task's vtid, vpid and pid namespace never change, so
 * they are read with helpers once per thread and then copied.
 */
static __always_inline void fill_hdr(__u8 *buf, __u16 kind, __u64 ts, struct task_struct *t, struct id_cache *cache)
{
	struct rec_hdr *h = (struct rec_hdr *)buf;
	__builtin_memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->size = sizeof(*h);
	h->cpu = bpf_get_smp_processor_id();
	h->ts = ts;
	h->pid = t->tgid;
	h->tid = t->pid;
	h->ppid = t->real_parent->tgid;
	const struct cred *cred = t->cred;
	h->uid = cred->uid.val;
	h->gid = cred->gid.val;
	h->euid = cred->euid.val;
	h->egid = cred->egid.val;
	if (bpf_core_field_exists(t->loginuid))
		h->loginuid = t->loginuid.val;
	else
		h->loginuid = 0xffffffff;
	h->tty = task_tty(t);
	h->mntns = t->nsproxy->mnt_ns->ns.inum;
	if (cache) {
		if (!cache->ns_valid) {
			task_vids(t, &cache->vtid, &cache->vpid, &cache->pidns);
			cache->ns_valid = 1;
		}
		h->vtid = cache->vtid;
		h->vpid = cache->vpid;
		h->pidns = cache->pidns;
	} else {
		task_vids(t, &h->vtid, &h->vpid, &h->pidns);
	}
	h->cgroup_id = task_cgroup_id(t);
	h->start_boottime = t->start_boottime;
	/* Session id in the host pid namespace: the session leader's pid. */
	struct pid *sp = t->signal->pids[PIDTYPE_SID];
	h->sid = sp ? sp->numbers[0].nr : 0;
	/* comm: two direct 8-byte loads from the trusted task (always NUL-terminated within 16). */
	__u64 *cm = (__u64 *)h->comm;
	cm[0] = *(__u64 *)&t->comm[0];
	cm[1] = *(__u64 *)&t->comm[8];
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
	struct fdtable *fdt = t->files->fdt;
	unsigned int max = fdt->max_fds;
	if ((unsigned long)fd >= max)
		return NULL;
	/* The slot arr[fd] read as the first pointer of a read-only cast: one direct load, no helper call. */
	__u64 slot = (__u64)fdt->fd + (__u64)fd * sizeof(struct file *);
	return (struct file *)RDONLY_CAST(struct list_head, slot)->next;
}

static __always_inline void fill_fdinfo(struct fd_info *fi, long fd, struct file *fp)
{
	__builtin_memset(fi, 0, sizeof(*fi));
	fi->fd = fd;
	struct file *f = RDONLY_CAST(struct file, fp);
	struct inode *ino = f->f_inode;
	fi->mode = ino->i_mode;
	fi->ino = ino->i_ino;
	struct super_block *sb = ino->i_sb;
	fi->dev = sb->s_dev;
	fi->nlink = ino->__i_nlink;
	fi->sb_magic = sb->s_magic;
	if ((fi->mode & S_IFMT_) == S_IFSOCK_) {
		struct socket *sock = RDONLY_CAST(struct socket, f->private_data);
		struct sock *sk = sock->sk;
		fi->sock_family = sk->__sk_common.skc_family;
		fi->sock_type = sk->sk_type;
		fi->sock_proto = sk->sk_protocol;
	}
}

static __always_inline int put_fdinfo(__u8 *buf, __u8 argi, long fd, struct file *fp)
{
	int off = param_room(buf, sizeof(struct fd_info));
	if (off < 0 || off > SCRATCH_SIZE - sizeof(struct param_hdr) - sizeof(struct fd_info))
		return -1;
	fill_fdinfo((struct fd_info *)(buf + off + sizeof(struct param_hdr)), fd, fp);
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

/* fd info + path (files) or tuple (sockets) for the fd in args[argi] or the return value.
 * with_tuple: 1 = socket tuple; 2 = no kernel path (opens: the path argument already names the file). */
static __noinline int put_fd(__u8 *buf, __u8 argi, long fd, int with_tuple)
{
	if (!buf)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *f = fd_file(t, fd);
	if (!f)
		return 0;
	put_fdinfo(buf, argi, fd, f);
	__u32 mode = RDONLY_CAST(struct file, f)->f_inode->i_mode;
	if ((mode & S_IFMT_) == S_IFSOCK_) {
		if (with_tuple == 1)
			put_socktuple(buf, argi, f);
		return 0;
	}
	if (with_tuple == 2)
		return 0;
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
	/* Our own scratch byte: a direct (bounded) load, no helper. */
	char first = buf[(off + sizeof(struct param_hdr)) & (SCRATCH_SIZE - 1)];
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

/*
 * Capabilities, process group and its number in the task's own pid
 * namespace. Read only for exec and fork records: a syscall record pays
 * nothing for them.
 */
static __noinline int put_procstate(__u8 *buf, struct task_struct *t)
{
	if (!buf || !t)
		return 0;
	int off = param_room(buf, sizeof(struct proc_state));
	if (off < 0 || off > SCRATCH_SIZE - sizeof(struct param_hdr) - sizeof(struct proc_state))
		return -1;
	struct proc_state *ps = (struct proc_state *)(buf + off + sizeof(struct param_hdr));
	__builtin_memset(ps, 0, sizeof(*ps));
	const struct cred *cred = BPF_CORE_READ(t, cred);
	/* kernel_cap_t is 8 bytes in both of its layouts (u32[2] before 6.3, u64 since). */
	bpf_probe_read_kernel(&ps->cap_inheritable, 8, &cred->cap_inheritable);
	bpf_probe_read_kernel(&ps->cap_permitted, 8, &cred->cap_permitted);
	bpf_probe_read_kernel(&ps->cap_effective, 8, &cred->cap_effective);
	struct pid *pg = BPF_CORE_READ(t, signal, pids[PIDTYPE_PGID]);
	if (pg) {
		ps->pgid = BPF_CORE_READ(pg, numbers[0].nr);
		unsigned int level = BPF_CORE_READ(t, thread_pid, level);
		unsigned int pglevel = BPF_CORE_READ(pg, level);
		if (pglevel >= level) {
			struct upid up = {};
			bpf_probe_read_kernel(&up, sizeof(up), &pg->numbers[level & 31]);
			ps->vpgid = up.nr;
		}
	}
	param_commit(buf, off, P_PROCSTATE, 0, sizeof(struct proc_state));
	return 0;
}

/*
 * Whether the current task may write the file behind `ino`, as the kernel's
 * basic permission check decides it: a read-only mount or an immutable file
 * no; the owner (fsuid) yes; else the group (fsgid; supplementary groups are
 * not read) or other write bit; else CAP_DAC_OVERRIDE or CAP_FOWNER.
 */
static __always_inline __u32 exe_writable(struct inode *ino)
{
	unsigned long sflags = BPF_CORE_READ(ino, i_sb, s_flags);
	unsigned int iflags = BPF_CORE_READ(ino, i_flags);
	if ((sflags & SB_RDONLY_) || (iflags & S_IMMUTABLE_))
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	const struct cred *cred = t->cred;
	__u32 fsuid = cred->fsuid.val;
	__u32 fsgid = cred->fsgid.val;
	__u32 iuid = BPF_CORE_READ(ino, i_uid.val);
	__u32 igid = BPF_CORE_READ(ino, i_gid.val);
	__u32 mode = BPF_CORE_READ(ino, i_mode);
	if (iuid == fsuid)
		return 1;
	if (mode & (igid == fsgid ? 0020 : 0002))
		return 1;
	__u64 eff = 0;
	bpf_probe_read_kernel(&eff, 8, &cred->cap_effective);
	return (eff & ((1ULL << CAP_DAC_OVERRIDE_) | (1ULL << CAP_FOWNER_))) != 0;
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
	unsigned long es = BPF_CORE_READ(mm, env_start);
	unsigned long ee = BPF_CORE_READ(mm, env_end);
	off = param_room(buf, ENV_MAX);
	if (off >= 0 && off <= SCRATCH_SIZE - sizeof(struct param_hdr) - ENV_MAX) {
		unsigned long len = ee > es ? ee - es : 0;
		if (len > ENV_MAX) {
			len = ENV_MAX;
			h->flags |= RF_ENV_TRUNCATED;
		}
		if (bpf_probe_read_user(buf + off + sizeof(struct param_hdr), len, (const void *)es) < 0)
			len = 0;
		param_commit(buf, off, P_ENV, 0, len);
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
			ei->writable = exe_writable(ino);
			param_commit(buf, eo, P_EXEINFO, 0, sizeof(struct exe_info));
		}
	}
	put_cwd(buf, P_CWD, 0);
	put_procstate(buf, t);
	return 0;
}

/*
 * Set by the loader through the mmapped .bss: 1 while its last drain found the
 * ring (nearly) idle, 0 under load. Under load no record wakes the loader: it
 * drains every 10 ms on its poll timeout, because a wakeup (irq_work +
 * scheduling the loader) costs more than building a record, and deciding per
 * record when to force one (bpf_ringbuf_query) cost a helper call. When idle,
 * a record is submitted with no flag: the kernel then wakes the loader only if
 * it had consumed everything (its adaptive notification), so a lone action
 * is read at once instead of up to 10 ms later. Reading this is one load.
 */
volatile __u32 wake_when_idle = 0;

static __always_inline __u64 rb_flags(void)
{
	return wake_when_idle ? 0 : BPF_RB_NO_WAKEUP;
}

static __always_inline int submit(__u8 *buf)
{
	struct rec_hdr *h = (struct rec_hdr *)buf;
	__u32 size = h->size;
	if (h->flags & RF_TRUNCATED)
		COUNT(truncated);
	if (size > SCRATCH_SIZE) {
		COUNT(drop_scratch);
		return -1;
	}
	if (bpf_ringbuf_output(&events, buf, size, rb_flags()) < 0) {
		COUNT(drop_ringbuf);
		return -1;
	}
	COUNT(seen);
	return 0;
}

static __always_inline void mark_cgroup_sent(__u64 cgid)
{
	__u8 one = 1;
	bpf_map_update_elem(&cg_sent, &cgid, &one, BPF_ANY);
}

/* ---------- syscalls ---------- */

/*
 * No sys_enter hook: the argument registers are still in the task's pt_regs
 * when sys_exit runs (the kernel does not write them back), so sys_exit reads
 * them there. The one exception is a successful execve/execveat: the new
 * image's start clears the registers. For those, the task_rename tracepoint,
 * which exec fires from begin_new_exec (after the point of no return, before
 * the registers are reset), snapshots the id and the six registers into the
 * thread's task storage. Dropping the sys_enter hook spares one tracepoint
 * call (the BPF run plus its bookkeeping) on every syscall of every task.
 */
SEC("tp_btf/task_rename")
int BPF_PROG(on_exec_args, struct task_struct *task, const char *comm)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	if (task != cur || cur->tgid == self_tgid)
		return 0;
	/* Only a rename by exec: other renames (prctl, /proc/<pid>/comm) run in other syscalls. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	__u64 id = regs->orig_ax;
	if (id != 59 && id != 322)
		return 0;
	struct enter_args *e = bpf_task_storage_get(&enters, cur, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		COUNT(drop_enter_full);
		return 0;
	}
	e->id = id + 1;
	/* A non-leader thread that execs takes over the leader's pid: re-read the cached ids. */
	e->ids.ns_valid = 0;
	e->args[0] = regs->di;
	e->args[1] = regs->si;
	e->args[2] = regs->dx;
	e->args[3] = regs->r10;
	e->args[4] = regs->r8;
	e->args[5] = regs->r9;
	return 0;
}

/* Syscalls whose record is the header alone (raw args, rendered by name in user space). */
static __always_inline int header_only(__u64 id)
{
	switch (id) {
	case 101: /* ptrace */
	case 62:  /* kill */
	case 105: /* setuid */
	case 106: /* setgid */
	case 117: /* setresuid */
	case 119: /* setresgid */
	case 272: /* unshare */
	case 308: /* setns */
	case 321: /* bpf */
	case 157: /* prctl */
	case 175: /* init_module */
	case 323: /* userfaultfd */
	case 56:  /* clone */
	case 435: /* clone3 */
	case 57:  /* fork */
	case 58:  /* vfork */
		return 1;
	}
	return 0;
}

static __always_inline void syscall_params(__u8 *buf, __u64 id, __u64 *a, long ret)
{
	switch (id) {
	case 2:  /* open */
	case 85: /* creat */
		put_upath(buf, 0, a[0], AT_FDCWD_);
		put_fd(buf, ARGI_RET, ret, 2);
		break;
	case 257: /* openat */
		put_upath(buf, 1, a[1], a[0]);
		put_fd(buf, ARGI_RET, ret, 2);
		break;
	case 437: /* openat2: struct open_how {flags, mode, resolve} is copied as raw bytes */
		put_upath(buf, 1, a[1], a[0]);
		if (a[2])
			put_ubytes(buf, P_SOCKADDR, 2, a[2], a[3] < 24 ? a[3] : 24);
		put_fd(buf, ARGI_RET, ret, 2);
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
	case 80: /* chdir: the path as given, and the new cwd */
		put_ustr(buf, P_USTR, 0, a[0]);
		if (ret == 0)
			put_cwd(buf, P_CWD, 0);
		break;
	case 81: /* fchdir */
		put_fd(buf, 0, a[0], 0);
		if (ret == 0)
			put_cwd(buf, P_CWD, 0);
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

/*
 * The common open (open, creat, openat with an absolute path) is built in a
 * ring reservation, in place: header, then the fd info of the returned fd
 * (when there is one), then the path string, read from user memory straight
 * into the ring. No scratch buffer, no copy. A reservation must have a
 * constant size, so there are two: OPEN_REC_SMALL fits paths of up to
 * OPEN_STR_ROOM(OPEN_REC_SMALL) - 2 = 102 bytes (most), OPEN_REC_LARGE up to
 * 550 (read again). The record's own size is what user space gets (the
 * loader writes rec_hdr.size bytes); the rest of the reservation is never
 * sent. Returns -1, with nothing reserved, when the slow path must build the
 * record: a relative path (it needs the base directory) or a longer path.
 */
#define OPEN_REC_SMALL 320
#define OPEN_REC_LARGE 768
#define OPEN_FD_OFF sizeof(struct rec_hdr)
#define OPEN_FD_END (OPEN_FD_OFF + sizeof(struct param_hdr) + sizeof(struct fd_info))
#define OPEN_STR_ROOM(size) ((size) - OPEN_FD_END - sizeof(struct param_hdr))

/* Reserves `size` bytes and reads the path string into place. NULL with *len = -1: it does not fit; -2: ring full; -3: relative. */
static __always_inline __u8 *open_reserve(__u32 size, __u32 soff, __u64 uptr, long *len)
{
	__u8 *r = bpf_ringbuf_reserve(&events, size, 0);
	if (!r) {
		*len = -2;
		return NULL;
	}
	long n = bpf_probe_read_user_str(r + soff + sizeof(struct param_hdr), OPEN_STR_ROOM(size), (const void *)uptr);
	if (n < 0)
		n = 0;
	if (n > 0 && r[soff + sizeof(struct param_hdr)] != '/') {
		bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
		*len = -3;
		return NULL;
	}
	if (n >= OPEN_STR_ROOM(size)) {
		bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
		*len = -1;
		return NULL;
	}
	*len = n;
	return r;
}

static __always_inline int open_fast(struct task_struct *t, struct id_cache *ids, __u64 ts, __u64 id, __u64 *a,
				     long ret)
{
	__u8 argi = id == 257 ? 1 : 0;
	__u64 uptr = id == 257 ? a[1] : a[0];
	struct file *f = fd_file(t, ret);
	__u32 soff = f ? OPEN_FD_END : OPEN_FD_OFF;
	long n;
	__u8 *r = open_reserve(OPEN_REC_SMALL, soff, uptr, &n);
	if (!r && n == -1)
		r = open_reserve(OPEN_REC_LARGE, soff, uptr, &n);
	if (!r) {
		if (n == -2) {
			COUNT(drop_ringbuf);
			return 0;
		}
		return -1;
	}
	fill_hdr(r, REC_SYSCALL, ts, t, ids);
	struct rec_hdr *h = (struct rec_hdr *)r;
	h->syscall = id;
	h->ret = ret;
	for (int i = 0; i < 6; i++)
		h->args[i] = a[i];
	if (f) {
		struct param_hdr *fp = (struct param_hdr *)(r + OPEN_FD_OFF);
		fp->type = P_FDINFO;
		fp->argi = ARGI_RET;
		fp->len = sizeof(struct fd_info);
		fill_fdinfo((struct fd_info *)(r + OPEN_FD_OFF + sizeof(struct param_hdr)), ret, f);
		h->nparams = 1;
	}
	struct param_hdr *p = (struct param_hdr *)(r + soff);
	p->type = P_USTR;
	p->argi = argi;
	p->len = n;
	h->size = soff + sizeof(struct param_hdr) + n;
	h->nparams++;
	bpf_ringbuf_submit(r, rb_flags());
	COUNT(seen);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	/*
	 * The interest check first: most calls on a busy host are not captured.
	 * A successful execveat shows orig_ax == 59 (execve) at exit on this
	 * kernel (the snapshot of on_exec_args has the real id), so 59 also
	 * stands for an execveat.
	 */
	__u64 id = regs->orig_ax;
	if (!interesting(id) && !(id == 59 && interesting(322)))
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	if (t->tgid == self_tgid)
		return 0;
	/* The time first: the exit as it happens, before the record's own work. */
	__u64 ts = bpf_ktime_get_boot_ns();
	__u32 zero = 0;
	struct cpu_last *cl = bpf_map_lookup_elem(&last_task, &zero);
	if (!cl)
		return 0;
	/* The argument registers first, unconditionally (one load each from the trusted pt_regs). */
	__u64 a[6] = { regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9 };
	asm volatile("" ::: "memory");
	if ((id == 59 || id == 322) && ret == 0) {
		/* A successful exec: the registers are gone, take the snapshot of on_exec_args. */
		struct enter_args *saved = bpf_task_storage_get(&enters, t, 0, 0);
		if (!saved || !saved->id) {
			COUNT(drop_missing_enter);
			return 0;
		}
		id = saved->id - 1;
		saved->id = 0;
		/* The exec may have changed the thread's ids (on_exec_args reset them): look them up again. */
		cl->task = 0;
		if (!interesting(id))
			return 0;
		for (int i = 0; i < 6; i++)
			a[i] = saved->args[i];
	} else {
		if (id == 59 && !interesting(59))
			return 0;
		/* The child's side of clone/fork/vfork is not a call it made (as before). */
		if (ret == 0 && (id == 56 || id == 57 || id == 58 || id == 435))
			return 0;
	}

	__u32 tid = t->pid;
	__u64 start = t->start_boottime;
	if (cl->task != (__u64)t || cl->tid != tid || cl->start != start) {
		struct enter_args *saved = bpf_task_storage_get(&enters, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!saved) {
			COUNT(drop_enter_full);
			return 0;
		}
		if (!saved->ids.ns_valid) {
			task_vids(t, &saved->ids.vtid, &saved->ids.vpid, &saved->ids.pidns);
			saved->ids.ns_valid = 1;
		}
		cl->ids = saved->ids;
		cl->task = (__u64)t;
		cl->tid = tid;
		cl->start = start;
	}
	struct id_cache *ids = &cl->ids;
	__u64 cgid = task_cgroup_id(t);
	int cg_known = cl->cg_ok == cgid || bpf_map_lookup_elem(&cg_sent, &cgid);
	if (cg_known)
		cl->cg_ok = cgid;
	/* openat from a real directory fd is nearly always relative: straight to the slow path, one string read. */
	int fast_open = id == 2 || id == 85 || (id == 257 && (int)a[0] == AT_FDCWD_);
	if (cg_known && fast_open && open_fast(t, ids, ts, id, a, ret) == 0)
		return 0;
	if (header_only(id) && cg_known) {
		/* Fixed-size record: reserve in the ring and fill it in place. */
		struct rec_hdr *h = bpf_ringbuf_reserve(&events, sizeof(struct rec_hdr), 0);
		if (!h) {
			COUNT(drop_ringbuf);
			return 0;
		}
		fill_hdr((__u8 *)h, REC_SYSCALL, ts, t, ids);
		h->syscall = id;
		h->ret = ret;
		for (int i = 0; i < 6; i++)
			h->args[i] = a[i];
		bpf_ringbuf_submit(h, rb_flags());
		COUNT(seen);
		return 0;
	}

	__u8 *buf = get_scratch();
	if (!buf)
		return 0;
	fill_hdr(buf, REC_SYSCALL, ts, t, ids);
	struct rec_hdr *h = (struct rec_hdr *)buf;
	h->syscall = id;
	h->ret = ret;
	for (int i = 0; i < 6; i++)
		h->args[i] = a[i];
	syscall_params(buf, id, a, ret);
	if (!cg_known)
		put_cgroup(buf, t);
	if (submit(buf) == 0 && !cg_known)
		mark_cgroup_sent(cgid);
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
	fill_hdr(buf, REC_EXEC, bpf_ktime_get_boot_ns(), p, NULL);
	((struct rec_hdr *)buf)->args[0] = old_pid;
	put_exec_info(buf);
	put_cgroup(buf, p);
	if (submit(buf) == 0)
		mark_cgroup_sent(((struct rec_hdr *)buf)->cgroup_id);
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
	fill_hdr(buf, REC_FORK, bpf_ktime_get_boot_ns(), child, NULL);
	((struct rec_hdr *)buf)->args[0] = parent->tgid;
	put_procstate(buf, child);
	put_cgroup(buf, child);
	if (submit(buf) == 0)
		mark_cgroup_sent(((struct rec_hdr *)buf)->cgroup_id);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	/* (A thread's pending enter slot is task storage: it is freed with the task.) */
	if (p->pid != p->tgid)
		return 0;
	/* Fixed-size record (header only): reserved in the ring and filled in place. */
	struct rec_hdr *h = bpf_ringbuf_reserve(&events, sizeof(struct rec_hdr), 0);
	if (!h) {
		COUNT(drop_ringbuf);
		return 0;
	}
	fill_hdr((__u8 *)h, REC_EXIT, bpf_ktime_get_boot_ns(), p, NULL);
	h->ret = p->exit_code;
	bpf_ringbuf_submit(h, rb_flags());
	COUNT(seen);
	return 0;
}
