// SPDX-License-Identifier: GPL-2.0
// Which process owns each socket, told by the kernel as it happens: short-lived clients that a
// /proc scan misses (a curl or dig that lives a few milliseconds) are caught, and a process that
// exited keeps its name, executable and command line. Read by ffi/libbpf.ts through a ring buffer;
// the layouts below are mirrored in src/proc/ebpf/events.ts.
//
// Hooks (all BTF tracepoints, "tp_btf": stable tracepoints, no tracefs mount needed). kprobes are
// not built into the kernels this was measured on, and fentry/fexit loads fail there with EPERM,
// so every hook is a tracepoint:
//   inet_sock_set_state  TCP only. CLOSE->SYN_SENT runs in connect(), in the caller's context, but
//                        the source port is still 0 there (it is picked just after), so the caller
//                        is remembered by socket and the event is sent at the socket's next
//                        transition (ESTABLISHED, or CLOSE when refused), when the tuple is whole.
//                        ->LISTEN runs in listen(): the server's listener and its owner.
//                        SYN_RECV->ESTABLISHED is a server's new connection, in softirq: the
//                        current task is not the server, so the event is named after the
//                        listener's owner (kept by namespace and port since listen(); zero when
//                        the listener predates the tracker). The first read or write by another
//                        process (a pre-forked worker) names it again, in its own context.
//                        Going to CLOSE the port is already freed (inet_num is 0 by then): the
//                        local port is read from inet_sport, so a refused connect keeps its tuple.
//   tcp_retransmit_skb   a SYN that is not answered is named at its first retransmission (1 s),
//                        not when connect() gives up (2 min). Fires only on retransmissions.
//   sock_send_length     every sendmsg/recvmsg of a socket (6.3+), in the caller's context: the
//   sock_recv_length     first packet of UDP, ICMP (ping sockets) and raw sockets, servers' first
//                        read or write of an accepted TCP socket, and sockets opened before the
//                        tracker. They fire per call, so the socket's owner and tuple are kept in an
//                        LRU map keyed by the socket and an event is sent only when they change: a
//                        bulk transfer costs one map lookup per call and no event. Unconnected UDP
//                        (sendto) has no remote in the socket: the event has the local endpoint
//                        only (remote port 0) and the reader falls back to it.
//   sched_process_exec   the exec'd file (the interpreter for a script, as /proc/<pid>/exe shows),
//                        a bounded command line read from the new mm's argument area, uid, cgroup.
//   sched_process_fork   a new process (not a thread) inherits its parent's identity until it execs.
//   sched_process_exit   the last thread of a process ends: the reader keeps its identity.
// Processes are named by tgid: the process's own name is its group leader's comm (a thread may
// have renamed itself: dig sends from "isc-net-0000").
// Not used: raw sys_enter/sys_exit, to find accept() and connect(): they run for every system
// call of the machine (an empty sys_exit program ran 25,000 times/s at 116 ns during the bench
// below, 0.3 % of a core, growing with all the machine's work, not with its connections); and
// net_dev_queue, which runs per packet sent.
// Cost (bench/attribution_cost.ts, 1,000 TCP connections/s on loopback, both ends traced, Linux
// 6.18, 2 vCPUs): 2 events per connection; kernel side 0.5 % of one core (inet_sock_set_state
// 10 runs per connection at ~440 ns, sock_send/recv_length ~280 ns per call), the reader 1.1-1.8 %.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

// The helpers that read kernel and user memory are GPL-only.
char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define COMM_LEN 16
#define FILENAME_LEN 256
#define ARGS_LEN 1024

enum event_kind {
	EV_CONNECT = 1, // a TCP client's connection (process from connect())
	EV_ACCEPT = 2,  // a TCP server's new connection (process: the listener's, 0 if unknown)
	EV_LISTEN = 3,  // a TCP listener
	EV_SEND = 4,    // first send of a socket by this process / with this tuple
	EV_RECV = 5,    // first receive, likewise
	EV_EXEC = 6,
	EV_FORK = 7,
	EV_EXIT = 8,
};

// Who did it: read in process context only.
struct proc_ctx {
	__u32 tgid;
	__u32 pid; // the thread
	__u32 uid;
	__u32 _pad;
	__u64 cgroup;              // cgroup v2 id: the inode of its directory
	char comm[COMM_LEN];       // the thread's name
	char group_comm[COMM_LEN]; // the process's (group leader's) name
};

struct sock_event {
	__u8 kind;
	__u8 family;
	__u8 protocol;
	__u8 type;    // SOCK_STREAM, SOCK_DGRAM, SOCK_RAW
	__u16 lport;  // host order; an ICMP echo id for ping sockets, the protocol for raw ones
	__u16 rport;  // host order; 0 when not connected
	__u32 netns;  // inode of the socket's network namespace
	__u32 _pad;
	__u64 ts;     // CLOCK_BOOTTIME, ns
	__u8 laddr[16]; // IPv4 in the first 4 bytes
	__u8 raddr[16];
	struct proc_ctx who; // for EV_ACCEPT: the listener's (zero when not seen)
};

struct task_event {
	__u8 kind;
	__u8 _pad;
	__u16 args_len; // bytes of args (EV_EXEC)
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u64 cgroup;
	__u64 ts;
	char comm[COMM_LEN];
};

struct exec_event {
	struct task_event task;
	char filename[FILENAME_LEN];
	char args[ARGS_LEN]; // NUL-separated, cut at ARGS_LEN
};

_Static_assert(sizeof(struct proc_ctx) == 56, "proc_ctx layout is mirrored in events.ts");
_Static_assert(sizeof(struct sock_event) == 112, "sock_event layout is mirrored in events.ts");
_Static_assert(sizeof(struct task_event) == 48, "task_event layout is mirrored in events.ts");
_Static_assert(sizeof(struct exec_event) == 1328, "exec_event layout is mirrored in events.ts");

// What was last sent for a socket: a new event only when the owner or the tuple changes.
struct seen {
	__u32 tgid;
	__u16 lport;
	__u16 rport; // network order, as in the socket
	__u32 raddr; // the remote address folded to 32 bits
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

// connect() callers whose socket had no source port yet, until the socket's next transition.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); // the socket's address
	__type(value, struct proc_ctx);
} connecting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); // the socket's address
	__type(value, struct seen);
} seen SEC(".maps");

// Listeners by namespace and port, with who called listen(): a server's new connection is named
// after them in the kernel, so the server's first read (same process) sends nothing more.
struct listen_key {
	__u32 netns;
	__u32 port;
};

struct listen_owner {
	__u64 sk;
	struct proc_ctx who;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, struct listen_owner);
} listeners SEC(".maps");

// Events the ring buffer had no room for (read by the reader through the mmap'd .bss).
__u64 lost = 0;

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline void who(struct proc_ctx *p)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = bpf_get_current_task_btf();

	p->tgid = id >> 32;
	p->pid = (__u32)id;
	p->uid = (__u32)bpf_get_current_uid_gid();
	p->cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(p->comm, sizeof(p->comm));
	bpf_probe_read_kernel(p->group_comm, sizeof(p->group_comm), task->group_leader->comm);
}

static __always_inline __u32 fold_remote(const struct sock *sk, __u16 family)
{
	if (family == AF_INET)
		return sk->__sk_common.skc_daddr;
	__u32 a[4];
	BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
	return a[0] ^ a[1] ^ a[2] ^ a[3];
}

// The local port. Going to CLOSE, the kernel frees the port (inet_num = 0) before the tracepoint
// runs, but inet_sport keeps it: a refused or abandoned connect() still has its tuple.
static __always_inline __u16 local_port(const struct sock *sk)
{
	__u16 port = sk->__sk_common.skc_num;

	return port ? port : bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
}

static __always_inline void output(void *data, __u64 size)
{
	// No wakeup: the reader polls on its own schedule, so an event costs no irq_work.
	if (bpf_ringbuf_output(&events, data, size, BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&lost, 1);
}

// Sends the socket's tuple with `p` as its owner and remembers it as sent.
static __always_inline void emit_sock(const struct sock *sk, __u8 kind, const struct proc_ctx *p)
{
	struct sock_event e = {};
	__u16 family = sk->__sk_common.skc_family;
	__u64 key = (__u64)sk;

	e.kind = kind;
	e.family = family;
	e.protocol = sk->sk_protocol;
	e.type = sk->sk_type;
	e.lport = local_port(sk);
	e.rport = bpf_ntohs(sk->__sk_common.skc_dport);
	e.netns = sk_netns(sk);
	e.ts = bpf_ktime_get_boot_ns();
	if (family == AF_INET) {
		*(__u32 *)e.laddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)e.raddr = sk->__sk_common.skc_daddr;
	} else {
		BPF_CORE_READ_INTO(&e.laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e.raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	e.who = *p;

	struct seen s = {
		.tgid = p->tgid,
		.lport = e.lport,
		.rport = sk->__sk_common.skc_dport,
		.raddr = fold_remote(sk, family),
	};
	bpf_map_update_elem(&seen, &key, &s, BPF_ANY);
	output(&e, sizeof(e));
}

// A connect() remembered at SYN_SENT: its tuple is whole now.
static __always_inline void flush_connecting(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct proc_ctx *pending = bpf_map_lookup_elem(&connecting, &key);

	if (!pending)
		return;
	struct proc_ctx p = *pending;
	bpf_map_delete_elem(&connecting, &key);
	emit_sock(sk, EV_CONNECT, &p);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u16 family = sk->__sk_common.skc_family;
	__u64 key = (__u64)sk;
	struct proc_ctx p = {};

	if (sk->sk_protocol != IPPROTO_TCP || (family != AF_INET && family != AF_INET6))
		return 0;
	if (newstate == TCP_SYN_SENT) {
		who(&p);
		if (sk->__sk_common.skc_num)
			emit_sock(sk, EV_CONNECT, &p); // bound before connect(): the tuple is whole
		else
			bpf_map_update_elem(&connecting, &key, &p, BPF_ANY);
		return 0;
	}
	if (newstate == TCP_LISTEN) {
		struct listen_owner l = { .sk = key };
		struct listen_key lk = { .netns = sk_netns(sk), .port = sk->__sk_common.skc_num };
		who(&l.who);
		bpf_map_update_elem(&listeners, &lk, &l, BPF_ANY);
		emit_sock(sk, EV_LISTEN, &l.who);
		return 0;
	}
	if (oldstate == TCP_SYN_SENT) {
		flush_connecting(sk);
	} else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		struct listen_key lk = { .netns = sk_netns(sk), .port = sk->__sk_common.skc_num };
		struct listen_owner *l = bpf_map_lookup_elem(&listeners, &lk);
		if (l)
			p = l->who;
		emit_sock(sk, EV_ACCEPT, &p);
	} else if (oldstate == TCP_LISTEN) {
		struct listen_key lk = { .netns = sk_netns(sk), .port = local_port(sk) };
		struct listen_owner *l = bpf_map_lookup_elem(&listeners, &lk);
		if (l && l->sk == key)
			bpf_map_delete_elem(&listeners, &lk);
	}
	if (newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&seen, &key);
		bpf_map_delete_elem(&connecting, &key);
	}
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(on_retransmit, const struct sock *sk)
{
	if (sk->__sk_common.skc_state == TCP_SYN_SENT)
		flush_connecting(sk);
	return 0;
}

static __always_inline int on_io(struct sock *sk, __u8 kind)
{
	__u16 family = sk->__sk_common.skc_family;

	if (family != AF_INET && family != AF_INET6)
		return 0; // unix, netlink, packet ... sockets: the common case, leave at once
	__u16 rport = sk->__sk_common.skc_dport;
	if (sk->sk_protocol == IPPROTO_TCP && !rport)
		return 0; // an unconnected TCP socket sends nothing
	__u64 key = (__u64)sk;
	struct seen now = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.lport = sk->__sk_common.skc_num,
		.rport = rport,
		.raddr = fold_remote(sk, family),
	};
	struct seen *was = bpf_map_lookup_elem(&seen, &key);
	if (was && was->tgid == now.tgid && was->lport == now.lport && was->rport == now.rport &&
	    was->raddr == now.raddr)
		return 0;
	struct proc_ctx p = {};
	who(&p);
	emit_sock(sk, kind, &p);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(on_send, struct sock *sk, int ret, int flags)
{
	return on_io(sk, EV_SEND);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(on_recv, struct sock *sk, int ret, int flags)
{
	return on_io(sk, EV_RECV);
}

static __always_inline void task_header(struct task_event *e, __u8 kind, __u32 tgid, __u32 ppid)
{
	e->kind = kind;
	e->tgid = tgid;
	e->ppid = ppid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup = bpf_get_current_cgroup_id();
	e->ts = bpf_ktime_get_boot_ns();
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	task_header(&e->task, EV_EXEC, task->tgid, task->real_parent->tgid);
	e->task.args_len = 0;
	bpf_get_current_comm(e->task.comm, sizeof(e->task.comm));
	// The file that runs: the interpreter of a script (as /proc/<pid>/exe shows), else the file.
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->interp) < 0)
		e->filename[0] = 0;
	// The new mm's argument area holds argv, NUL-separated; read at most ARGS_LEN bytes of it.
	struct mm_struct *mm = task->mm;
	__u64 start = mm->arg_start, end = mm->arg_end;
	__u64 len = end > start ? end - start : 0;
	if (len > ARGS_LEN)
		len = ARGS_LEN;
	if (len && bpf_probe_read_user(e->args, len, (void *)start) == 0)
		e->task.args_len = len;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_event e = {};

	if (child->pid != child->tgid)
		return 0; // a new thread, not a new process
	task_header(&e, EV_FORK, child->tgid, parent->tgid);
	bpf_probe_read_kernel(e.comm, sizeof(e.comm), child->comm);
	output(&e, sizeof(e));
	return 0;
}

// Newer kernels pass a group_dead flag too; the live count works on all of them.
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	struct task_event e = {};

	if (task->signal->live.counter != 0)
		return 0; // other threads still run
	task_header(&e, EV_EXIT, task->tgid, 0);
	bpf_probe_read_kernel(e.comm, sizeof(e.comm), task->group_leader->comm);
	output(&e, sizeof(e));
	return 0;
}
