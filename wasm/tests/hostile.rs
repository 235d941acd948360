//! Hostile input for the decoder, natively: every corpus capture cut short at many points and
//! with seeded byte mutations, fed in random chunk sizes (down to one byte); hand-crafted
//! captures with lying lengths, deep header chains and odd timestamp resolutions; and a million
//! distinct flows through a small flow table. Every run checks that nothing panics, that `feed`
//! always makes progress or says why it stopped, and that the counters agree with the events.
//!
//! Deterministic: the only randomness is a seeded xorshift generator. A case that panics or
//! hangs is reported with the file, the mutation and the seed that reproduce it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::thread;
use std::time::Duration;

use wiresight_decoder::abi::*;
use wiresight_decoder::bpf::{self, Insn};
use wiresight_decoder::capture::{MAX_PCAPNG_BLOCK, MAX_PCAP_RECORD};
use wiresight_decoder::decoder::{Decoder, MIN_INPUT};
use wiresight_decoder::flow::Timeouts;

// ---- seeded randomness --------------------------------------------------------------------

/// xorshift64: tiny, seeded, good enough to pick offsets and values.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d);
        if r.0 == 0 {
            r.0 = 1;
        }
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

// ---- panics and hangs as test failures -----------------------------------------------------

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

static HOOK: Once = Once::new();

/// Panics inside `caught` are recorded instead of printed; all others print as usual.
fn install_hook() {
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| q.get()) {
                LAST_PANIC.with(|l| *l.borrow_mut() = info.to_string());
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `Err(message with location)`.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    QUIET.with(|q| q.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    r.map_err(|_| LAST_PANIC.with(|l| l.borrow().clone()))
}

type Current = Arc<Mutex<String>>;

/// Runs `f` on its own thread and fails if it has not finished after `secs` (a hang inside one
/// `feed` call cannot be caught by counting calls), naming the case it was working on.
fn watchdog(secs: u64, f: impl FnOnce(&Current) + Send + 'static) {
    let current: Current = Arc::new(Mutex::new(String::from("(starting)")));
    let (tx, rx) = mpsc::channel();
    let cur = current.clone();
    let worker = thread::spawn(move || {
        f(&cur);
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => worker.join().expect("worker thread"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(p) => panic::resume_unwind(p),
            Ok(()) => unreachable!("worker ended without reporting"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let case = current.lock().map(|c| c.clone()).unwrap_or_default();
            panic!("decoder still busy after {} s: hang in case {}", secs, case);
        }
    }
}

fn set_current(c: &Current, what: String) {
    if let Ok(mut g) = c.lock() {
        *g = what;
    }
}

fn assert_no_failures(what: &str, failures: &[String]) {
    if !failures.is_empty() {
        let shown: Vec<&str> = failures.iter().take(25).map(|s| s.as_str()).collect();
        panic!("{}: {} failing case(s):\n{}", what, failures.len(), shown.join("\n"));
    }
}

// ---- driving a decoder like src/source/file.ts does ----------------------------------------

#[derive(Clone, Copy, Debug)]
enum Chunks {
    /// As much as the input buffer holds.
    Whole,
    Fixed(usize),
    /// Sizes drawn per read from 1 byte to the whole buffer.
    Random(u64),
}

#[derive(Clone, Debug)]
struct Cfg {
    input_cap: usize,
    out_cap: usize,
    max_flows: usize,
    timeouts: Option<Timeouts>,
    /// Emit PACKET events with up to this many payload bytes.
    packets: Option<usize>,
    chunks: Chunks,
    /// Count the final record of every flow id (for the boundedness test).
    track_ids: bool,
}

impl Default for Cfg {
    fn default() -> Cfg {
        Cfg {
            input_cap: 0,
            out_cap: 0,
            max_flows: 4096,
            timeouts: None,
            packets: None,
            chunks: Chunks::Whole,
            track_ids: false,
        }
    }
}

impl Cfg {
    fn with_chunks(&self, chunks: Chunks) -> Cfg {
        Cfg { chunks, ..self.clone() }
    }
}

const NO_TIMEOUTS: Timeouts = Timeouts { tcp_idle_ns: 0, other_idle_ns: 0, closed_ns: 0, active_ns: 0 };

#[derive(Debug, Default, Clone)]
struct Run {
    status: u32,
    error: u32,
    error_offset: u64,
    stats: Vec<f64>,
    feeds: usize,
    packet_events: u64,
    flow_events: u64,
    active_splits: u64,
    evicted_events: u64,
    iface_events: u64,
    name_events: u64,
    ifstats_events: u64,
    app_events: u64,
    /// IF_TS_UNITS of each interface event, in order.
    iface_units: Vec<u32>,
    /// Final (non-active-timeout) records per flow id, when tracked.
    finals: Vec<u8>,
    most_active: usize,
}

impl Run {
    fn s(&self, i: usize) -> f64 {
        self.stats[i]
    }

    fn records(&self) -> u64 {
        self.s(ST_RECORDS) as u64
    }

    fn mal(&self, reason: u8) -> u64 {
        self.s(ST_MALFORMED_BASE + reason as usize) as u64
    }

    fn outcome(&self) -> (u32, u32) {
        (self.status, self.error)
    }
}

/// A field of an event the decoder sized to hold it.
fn rd<T: Scalar>(e: &[u8], f: Field<T>) -> T {
    get(e, f).expect("field past its event")
}

/// Reads and checks every waiting event, then empties the buffer (TS's `drain`).
fn drain(d: &mut Decoder, run: &mut Run, cfg: &Cfg) {
    let buf = &d.eng.out.buf[..d.eng.out.len];
    let mut off = 0usize;
    while off < buf.len() {
        assert!(off + EVENT_HEADER <= buf.len(), "event header past the end at {}", off);
        let kind = rd(&buf[off..], EVENT_TYPE);
        let total = rd(&buf[off..], EVENT_LEN) as usize;
        assert!(
            total >= EVENT_HEADER && total & 7 == 0 && off + total <= buf.len(),
            "bad event length {} at {} of {}",
            total,
            off,
            buf.len()
        );
        let e = &buf[off..off + total];
        match kind {
            EV_PACKET => {
                assert!(total >= PKT_PAYLOAD.at, "short packet event");
                let copied = rd(e, PKT_PAYLOAD_COPIED) as usize;
                assert!(PKT_PAYLOAD.at + copied <= total, "payload past its event");
                assert!(copied <= cfg.packets.unwrap_or(0), "more payload copied than asked");
                assert!(rd(e, PKT_TS_NSEC) < 1_000_000_000, "packet nanoseconds out of range");
                assert!(rd(e, PKT_FRAME) >= 1.0, "frame numbers start at 1");
                run.packet_events += 1;
            }
            EV_FLOW => {
                assert_eq!(total, FL_SIZE, "flow event size");
                let id = rd(e, FL_ID);
                assert!(id >= 1.0 && id.fract() == 0.0, "flow id {}", id);
                assert!(rd(e, FL_FIRST_NSEC) < 1_000_000_000 && rd(e, FL_LAST_NSEC) < 1_000_000_000);
                let end = rd(e, FL_END);
                assert!(end <= END_EVICTED, "end reason {}", end);
                run.flow_events += 1;
                if end == END_ACTIVE {
                    run.active_splits += 1;
                } else if cfg.track_ids {
                    let i = id as usize;
                    if run.finals.len() <= i {
                        run.finals.resize(i + 1, 0);
                    }
                    run.finals[i] = run.finals[i].saturating_add(1);
                }
                if end == END_EVICTED {
                    run.evicted_events += 1;
                }
            }
            EV_INTERFACE => {
                assert!(total >= IF_NAME.at, "short interface event");
                let name = rd(e, IF_NAME_LEN) as usize;
                assert!(name <= 256 && IF_NAME.at + name <= total, "interface name length {}", name);
                run.iface_units.push(rd(e, IF_TS_UNITS));
                run.iface_events += 1;
            }
            EV_NAME => {
                assert!(total >= NM_NAME.at, "short name event");
                let len = rd(e, NM_NAME_LEN) as usize;
                assert!((1..=255).contains(&len) && NM_NAME.at + len <= total, "name length {}", len);
                run.name_events += 1;
            }
            EV_APP => {
                assert!(total >= AP_DATA.at && total <= APP_EVENT_MAX + 8, "app event of {} bytes", total);
                let end = AP_DATA.at + rd(e, AP_FIELDS_LEN) as usize;
                assert!(end <= total, "app fields past the event");
                let mut p = AP_DATA.at;
                while p < end {
                    p += AF_VALUE.at + rd(&e[p..], AF_LEN) as usize;
                }
                assert_eq!(p, end, "app fields do not add up");
                run.app_events += 1;
            }
            EV_IFSTATS => {
                assert!(total >= IS_SIZE, "short interface statistics event");
                assert!(rd(e, IS_HAS) <= IS_HAS_RECV | IS_HAS_DROP | IS_HAS_OSDROP);
                run.ifstats_events += 1;
            }
            other => panic!("unknown event type {} at {}", other, off),
        }
        off += total;
    }
    d.eng.out.clear();
    let active = d.eng.flows.active();
    assert!(active <= cfg.max_flows.max(16), "{} flows active, maximum {}", active, cfg.max_flows.max(16));
    assert_eq!(d.eng.stats.v[ST_FLOWS_ACTIVE] as usize, active, "ST_FLOWS_ACTIVE out of date");
    run.most_active = run.most_active.max(active);
}

fn chunk_size(chunks: Chunks, rng: &mut Rng) -> usize {
    match chunks {
        Chunks::Whole => usize::MAX,
        Chunks::Fixed(n) => n.max(1),
        Chunks::Random(_) => match rng.below(4) {
            0 => 1,
            1 => 1 + rng.below(16),
            2 => 1 + rng.below(4096),
            _ => 1 + rng.below(3 << 20),
        },
    }
}

/// Feeds `bytes` as src/source/file.ts does. The input is four parts [carry A | A | carry B | B]
/// (ABI.md, "Input layout"): while the decoder works on the window in one part, the next read
/// fills the other, and here that read lands at once (the worst timing a read on another thread
/// can have). The window is the carried incomplete record plus the read; what is left moves into
/// the carry part before the part read next. Reads may be short (random sizes down to 1 byte).
/// Asserts progress at every step; panics on any violation.
fn decode_with(d: &mut Decoder, bytes: &[u8], cfg: &Cfg, run: &mut Run) {
    let part = d.input.len() / 4;
    let region = |i: usize| part * (1 + 2 * i);
    let mut rng = Rng::new(match cfg.chunks {
        Chunks::Random(s) => s,
        _ => 0,
    });
    let mut fed = 0usize;
    // One read into part `i`: None once the file is exhausted (Deno's read -> null).
    let mut read = |d: &mut Decoder, i: usize| -> Option<usize> {
        if fed == bytes.len() {
            return None;
        }
        let n = chunk_size(cfg.chunks, &mut rng).min(part).min(bytes.len() - fed);
        d.input[region(i)..region(i) + n].copy_from_slice(&bytes[fed..fed + n]);
        fed += n;
        Some(n)
    };
    let (mut cur, mut carry) = (0usize, 0usize);
    let mut pending = read(d, cur);
    let limit = 2 * bytes.len() + 20_000;
    let mut feeds = 0usize;
    loop {
        let n = pending.take();
        let eof = n.is_none();
        let start = region(cur) - carry;
        let len = carry + n.unwrap_or(0);
        let next = 1 - cur;
        if !eof {
            pending = read(d, next);
        }
        let mut consumed = 0usize;
        let status = loop {
            feeds += 1;
            assert!(
                feeds <= limit,
                "no progress: {} feed calls for {} bytes (status {}, window {} bytes)",
                feeds,
                bytes.len(),
                d.eng.status,
                len
            );
            let c = d.feed(start + consumed, len - consumed, eof);
            assert!(c <= len - consumed, "consumed {} of {} bytes", c, len - consumed);
            consumed += c;
            drain(d, run, cfg);
            match d.eng.status {
                STATUS_OUT_FULL => continue,
                STATUS_NEED_BPF => panic!("NEED_BPF without a BPF filter"),
                s => break s,
            }
        };
        match status {
            STATUS_DONE => {
                assert!(eof && consumed == len, "DONE before the end ({} bytes left, eof {})", len - consumed, eof);
                break;
            }
            STATUS_ERROR => {
                assert_ne!(d.eng.error, ERR_NONE, "STATUS_ERROR without an error code");
                break;
            }
            STATUS_NEED_INPUT => {}
            other => panic!("unexpected status {}", other),
        }
        assert!(!eof, "NEED_INPUT at the end of the input ({} bytes left)", len - consumed);
        carry = len - consumed;
        assert!(carry <= part, "{} bytes left undecoded, more than a part ({})", carry, part);
        d.input.copy_within(start + consumed..start + len, region(next) - carry);
        cur = next;
    }
    run.feeds += feeds;
}

fn finish(d: &mut Decoder, run: &mut Run, cfg: &Cfg) {
    let mut rounds = 0;
    while d.finish() {
        drain(d, run, cfg);
        rounds += 1;
        assert!(rounds < 1_000_000, "finish never completes");
    }
    drain(d, run, cfg);
    run.status = d.eng.status;
    run.error = d.eng.error;
    run.error_offset = d.eng.error_offset;
    run.stats = d.stats().to_vec();
    check_counters(d, run, cfg);
}

fn new_decoder(cfg: &Cfg) -> Decoder {
    let mut d = Decoder::new(cfg.input_cap, cfg.out_cap, cfg.max_flows).expect("decoder buffers");
    if let Some(t) = cfg.timeouts {
        d.set_timeouts(t);
    }
    if let Some(n) = cfg.packets {
        d.set_packet_output(true, n);
    }
    d
}

fn decode(bytes: &[u8], cfg: &Cfg) -> Run {
    let mut d = new_decoder(cfg);
    let mut run = Run::default();
    decode_with(&mut d, bytes, cfg, &mut run);
    finish(&mut d, &mut run, cfg);
    run
}

/// The counters agree with each other and with the events seen.
fn check_counters(d: &Decoder, run: &Run, cfg: &Cfg) {
    let s = |i: usize| run.stats[i];
    assert!(s(ST_PACKETS) <= s(ST_RECORDS), "packets {} > records {}", s(ST_PACKETS), s(ST_RECORDS));
    assert_eq!(s(ST_PACKETS) + s(ST_FILTERED), s(ST_RECORDS), "packets + filtered != records");
    assert_eq!(run.flow_events as f64, s(ST_FLOW_RECORDS), "flow events != ST_FLOW_RECORDS");
    assert_eq!(
        run.flow_events as f64,
        s(ST_FLOWS_CREATED) + run.active_splits as f64,
        "flow records after finish != flows created + active-timeout splits"
    );
    assert_eq!(d.eng.flows.active(), 0, "flows left after finish");
    assert_eq!(s(ST_FLOWS_ACTIVE), 0.0, "ST_FLOWS_ACTIVE after finish");
    assert!(s(ST_FLOWS_PEAK) <= cfg.max_flows.max(16) as f64, "peak {} above the maximum", s(ST_FLOWS_PEAK));
    assert_eq!(run.evicted_events as f64, s(ST_FLOWS_EVICTED), "evicted events != ST_FLOWS_EVICTED");
    assert!(s(ST_FLOWS_IDLE) + s(ST_FLOWS_EVICTED) <= s(ST_FLOWS_CREATED));
    assert_eq!(run.iface_events as f64, s(ST_INTERFACES), "interface events != ST_INTERFACES");
    if cfg.packets.is_some() {
        assert_eq!(run.packet_events as f64, s(ST_PACKETS), "a packet event went missing");
    }
    assert!(s(ST_MALFORMED_PKTS) <= s(ST_PACKETS));
    let by_link: f64 = (0..LINKTYPE_SLOTS).map(|k| s(ST_LINKTYPE_BASE + 3 * k + 1)).sum();
    assert_eq!(by_link, s(ST_PACKETS), "link-type table does not add up");
    let l3 = s(ST_IPV4_PKTS) + s(ST_IPV6_PKTS) + s(ST_ARP_PKTS) + s(ST_OTHER_L3_PKTS) + s(ST_UNSUPPORTED_LINK_PKTS);
    assert!(l3 <= s(ST_PACKETS));
    assert!(s(ST_CAPTURED_BYTES) >= 0.0 && s(ST_BYTES) >= 0.0);
}

/// Decodes whole, in 1-byte reads and in random reads: the outcome must not depend on how the
/// file was read. Returns the whole-buffer run.
fn decode_every_way(bytes: &[u8], cfg: &Cfg) -> Run {
    let whole = decode(bytes, &cfg.with_chunks(Chunks::Whole));
    for chunks in [Chunks::Fixed(1), Chunks::Random(seed_of("every way") ^ bytes.len() as u64)] {
        let other = decode(bytes, &cfg.with_chunks(chunks));
        assert_eq!(other.outcome(), whole.outcome(), "outcome differs with {:?}", chunks);
        assert_eq!(other.error_offset, whole.error_offset, "error offset differs with {:?}", chunks);
        assert_eq!(other.packet_events, whole.packet_events, "packet events differ with {:?}", chunks);
        assert_eq!(other.flow_events, whole.flow_events, "flow events differ with {:?}", chunks);
        let diff: Vec<usize> = (0..STATS_LEN).filter(|&i| other.stats[i] != whole.stats[i]).collect();
        assert!(diff.is_empty(), "statistics {:?} differ with {:?}", diff, chunks);
    }
    whole
}

// ---- the corpus ----------------------------------------------------------------------------

fn corpus_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(c) = std::env::var("WIRESIGHT_CORPUS") {
        candidates.push(PathBuf::from(c));
    }
    candidates.push(manifest.join("../../shared/corpus"));
    candidates.push(PathBuf::from("/work/shared/corpus"));
    for c in &candidates {
        if c.join("public").is_dir() {
            return c.clone();
        }
    }
    panic!("capture corpus not found (looked in {:?}); set WIRESIGHT_CORPUS", candidates);
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = corpus_root();
    let mut files = Vec::new();
    for dir in ["public", "generated"] {
        let entries = match std::fs::read_dir(root.join(dir)) {
            Ok(e) => e,
            Err(_) => continue,
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let ext_ok = name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".cap");
            if ext_ok && e.path().is_file() {
                let bytes = std::fs::read(e.path()).expect("read corpus file");
                files.push((format!("{}/{}", dir, name), bytes));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "corpus at {} has only {} captures", root.display(), files.len());
    files
}

/// Where records start and end, found independently of the decoder.
#[derive(Debug, Default)]
struct Framing {
    pcapng: bool,
    big_endian: bool,
    /// End of the file header (pcap) or of the first section header block (pcapng).
    header_end: usize,
    /// Every offset between two records/blocks, the header end included, ascending.
    boundaries: Vec<usize>,
    /// Ends of packet records (pcap records; pcapng EPB, SPB and OPB blocks).
    packet_ends: Vec<usize>,
    /// The framing reaches the end of the file exactly.
    clean: bool,
}

impl Framing {
    fn u32_at(&self, b: &[u8], o: usize) -> u32 {
        let a = [b[o], b[o + 1], b[o + 2], b[o + 3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn last_boundary_at_or_before(&self, c: usize) -> usize {
        self.boundaries.iter().copied().filter(|&b| b <= c).max().unwrap_or(0)
    }

    fn packets_before(&self, c: usize) -> u64 {
        self.packet_ends.iter().filter(|&&e| e <= c).count() as u64
    }
}

fn walk(b: &[u8]) -> Option<Framing> {
    if b.len() < 4 {
        return None;
    }
    let magic_le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut f = Framing::default();
    match magic_le {
        0xa1b2_c3d4 | 0xa1b2_3c4d => {}
        0xd4c3_b2a1 | 0x4d3c_b2a1 => f.big_endian = true,
        0x0a0d_0d0a => f.pcapng = true,
        _ => return None,
    }
    if !f.pcapng {
        if b.len() < 24 {
            return Some(f);
        }
        f.header_end = 24;
        f.boundaries.push(24);
        let mut pos = 24;
        loop {
            if pos == b.len() {
                f.clean = true;
                break;
            }
            if pos + 16 > b.len() {
                break;
            }
            let caplen = f.u32_at(b, pos + 8) as usize;
            if caplen > MAX_PCAP_RECORD || pos + 16 + caplen > b.len() {
                break;
            }
            pos += 16 + caplen;
            f.boundaries.push(pos);
            f.packet_ends.push(pos);
        }
        return Some(f);
    }
    let mut pos = 0;
    loop {
        if pos == b.len() {
            f.clean = true;
            break;
        }
        if pos + 12 > b.len() {
            break;
        }
        let shb = b[pos..pos + 4] == [0x0a, 0x0d, 0x0d, 0x0a];
        if shb {
            match &b[pos + 8..pos + 12] {
                [0x4d, 0x3c, 0x2b, 0x1a] => f.big_endian = false,
                [0x1a, 0x2b, 0x3c, 0x4d] => f.big_endian = true,
                _ => break,
            }
        }
        let kind = f.u32_at(b, pos);
        let len = f.u32_at(b, pos + 4) as usize;
        if len < 12 || len & 3 != 0 || len > MAX_PCAPNG_BLOCK || pos + len > b.len() {
            break;
        }
        if f.u32_at(b, pos + len - 4) as usize != len {
            break;
        }
        if shb {
            let major = if len >= 16 {
                let m = [b[pos + 12], b[pos + 13]];
                if f.big_endian {
                    u16::from_be_bytes(m)
                } else {
                    u16::from_le_bytes(m)
                }
            } else {
                0
            };
            if major != 1 {
                break;
            }
        }
        pos += len;
        if f.header_end == 0 {
            f.header_end = pos;
        }
        f.boundaries.push(pos);
        if kind == 2 || kind == 3 || kind == 6 {
            f.packet_ends.push(pos);
        }
    }
    Some(f)
}

fn cut_points(len: usize, f: &Framing, rng: &mut Rng) -> Vec<usize> {
    // Every byte of the file header, every few bytes of small files, and around record edges.
    let mut cuts: Vec<usize> = (0..=len.min(64)).collect();
    let n = f.boundaries.len();
    if len <= 4096 {
        cuts.extend((64..=len).step_by(if len <= 2048 { 7 } else { 16 }));
        for &b in &f.boundaries {
            cuts.extend([b.saturating_sub(1), b, b + 1, b + 9]);
        }
    } else {
        let picked = f.boundaries.iter().take(30).chain(f.boundaries.iter().skip(n.saturating_sub(8)));
        for &b in picked {
            cuts.extend([b.saturating_sub(1), b, b + 1, b + 9, b + 17]);
        }
        for _ in 0..48 {
            cuts.push(rng.below(len + 1));
        }
        cuts.extend([len - 1, len]);
    }
    cuts.retain(|&c| c <= len);
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

// ---- corpus: truncation ---------------------------------------------------------------------

/// Checks a capture cut at `c` against the same capture cut at the last record boundary before
/// it: the same records, and a clear reason for stopping.
fn check_cut(bytes: &[u8], c: usize, f: &Framing, at_boundary: &mut HashMap<usize, Run>) -> Result<(), String> {
    let cfg = Cfg { chunks: Chunks::Random(c as u64 + 1), ..Cfg::default() };
    let r = decode(&bytes[..c], &cfg);
    let b = f.last_boundary_at_or_before(c);
    if c == b {
        at_boundary.entry(b).or_insert_with(|| r.clone());
    }
    let rb = &*at_boundary.entry(b).or_insert_with(|| decode(&bytes[..b], &Cfg::default()));
    if r.records() != rb.records() || r.s(ST_PACKETS) != rb.s(ST_PACKETS) {
        return Err(format!(
            "cut at {}: {} records, but {} when cut at the record boundary {}",
            c,
            r.records(),
            rb.records(),
            b
        ));
    }
    let (status, err) = r.outcome();
    let expect_ok = if c == 0 {
        status == STATUS_ERROR && err == ERR_EMPTY
    } else if c < 4 {
        status == STATUS_ERROR && (err == ERR_NOT_A_CAPTURE || err == ERR_TRUNCATED_HEADER)
    } else if c < f.header_end {
        // Inside the file header / first section header block (see the dedicated pcapng test).
        status == STATUS_ERROR && (err == ERR_TRUNCATED_HEADER || err == ERR_TRUNCATED_RECORD)
    } else if c == b {
        status == STATUS_DONE
    } else if f.clean || b < *f.boundaries.last().unwrap_or(&0) {
        // A well-formed record was cut: the capture merely ends early, at that record.
        status == STATUS_ERROR && err == ERR_TRUNCATED_RECORD && r.error_offset == b as u64
    } else {
        status == STATUS_ERROR
    };
    if !expect_ok {
        return Err(format!(
            "cut at {} (last boundary {}): status {} error {} at {}",
            c, b, status, err, r.error_offset
        ));
    }
    // The records before the cut are all decoded (the N in "cut after N records").
    let n = f.packets_before(c);
    let all_decodable = !f.pcapng || rb.records() == f.packets_before(b);
    if all_decodable && r.records() != n {
        return Err(format!("cut at {}: {} records decoded, {} complete before the cut", c, r.records(), n));
    }
    Ok(())
}

#[test]
fn corpus_captures_cut_short_anywhere() {
    watchdog(300, |current| {
        let mut failures = Vec::new();
        let mut cuts_done = 0usize;
        for (name, bytes) in corpus() {
            set_current(current, format!("{} (whole, every chunking)", name));
            let whole = match caught(|| decode_every_way(&bytes, &Cfg::default())) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{} whole: {}", name, e));
                    continue;
                }
            };
            let f = match walk(&bytes) {
                Some(f) => f,
                None => {
                    if whole.status != STATUS_ERROR || whole.error != ERR_NOT_A_CAPTURE {
                        failures.push(format!("{}: unknown magic but outcome {:?}", name, whole.outcome()));
                    }
                    continue;
                }
            };
            if f.clean && whole.status != STATUS_DONE {
                failures.push(format!("{}: frames cleanly but ends with {:?}", name, whole.outcome()));
            }
            if !f.pcapng && whole.records() != f.packet_ends.len() as u64 {
                failures.push(format!("{}: {} records, framing has {}", name, whole.records(), f.packet_ends.len()));
            }
            let mut rng = Rng::new(seed_of(&name));
            let mut at_boundary = HashMap::new();
            for c in cut_points(bytes.len(), &f, &mut rng) {
                set_current(current, format!("{} cut at {}", name, c));
                cuts_done += 1;
                match caught(|| check_cut(&bytes, c, &f, &mut at_boundary)) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => failures.push(format!("{}: {}", name, e)),
                    Err(p) => failures.push(format!("{} cut at {}: {}", name, c, p)),
                }
            }
        }
        assert!(cuts_done > 15_000, "only {} cut points", cuts_done);
        assert_no_failures("truncated captures", &failures);
    });
}

// ---- corpus: mutations ----------------------------------------------------------------------

const INTERESTING: [u32; 16] = [
    0,
    1,
    4,
    11,
    12,
    13,
    16,
    20,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    MAX_PCAP_RECORD as u32,
    MAX_PCAP_RECORD as u32 + 1,
    MAX_PCAPNG_BLOCK as u32,
    MAX_PCAPNG_BLOCK as u32 + 4,
    0xfffc,
];

fn put32(v: &mut [u8], at: usize, x: u32, big: bool) {
    if at + 4 <= v.len() {
        let b = if big { x.to_be_bytes() } else { x.to_le_bytes() };
        v[at..at + 4].copy_from_slice(&b);
    }
}

/// One seeded mutation; returns the mutant, the first offset changed and a description.
fn mutate(bytes: &[u8], f: Option<&Framing>, rng: &mut Rng) -> (Vec<u8>, usize, String) {
    let mut v = bytes.to_vec();
    let len = v.len().max(1);
    let mut starts: Vec<usize> = match f {
        Some(f) => std::iter::once(0).chain(f.boundaries.iter().copied()).filter(|&b| b < v.len()).collect(),
        None => vec![0],
    };
    if starts.is_empty() {
        starts.push(0);
    }
    let big = f.map(|f| f.big_endian).unwrap_or(false);
    let pcapng = f.map(|f| f.pcapng).unwrap_or(false);
    let at_record = starts[rng.below(starts.len())];
    let mut first = usize::MAX;
    let op = rng.below(8);
    let what;
    match op {
        0 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let i = rng.below(len);
                if i < v.len() {
                    v[i] ^= 1 << rng.below(8);
                    first = first.min(i);
                }
            }
            what = format!("{} bit flips", n);
        }
        1 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(64.min(len));
                if i < v.len() {
                    v[i] = [0, 0xff, 0x7f, 0x80, rng.byte()][rng.below(5)];
                    first = first.min(i);
                }
            }
            what = String::from("header bytes");
        }
        2 => {
            // A length, interface or caplen field of one record.
            let fields: &[usize] = if pcapng { &[4, 8, 20, 24] } else { &[8, 12] };
            let at = at_record + fields[rng.below(fields.len())];
            let x = if rng.percent(70) { INTERESTING[rng.below(INTERESTING.len())] } else { rng.next() as u32 };
            put32(&mut v, at, x, if rng.percent(85) { big } else { !big });
            first = at;
            what = format!("field at {} = {:#x}", at, x);
        }
        3 => {
            let at = (at_record + rng.below(24)).min(v.len());
            let n = 1 + rng.below(7);
            if rng.percent(50) {
                for _ in 0..n {
                    v.insert(at, rng.byte());
                }
                what = format!("{} bytes inserted at {}", n, at);
            } else {
                let end = (at + n).min(v.len());
                v.drain(at..end);
                what = format!("{} bytes deleted at {}", end - at, at);
            }
            first = at;
        }
        4 => {
            let cut = rng.below(len);
            v.truncate(cut);
            if !v.is_empty() {
                let i = rng.below(v.len());
                v[i] = rng.byte();
                first = first.min(i);
            }
            first = first.min(cut);
            what = format!("cut at {} and a byte changed", cut);
        }
        5 => {
            // A record copied over another one (framing that lines up, contents that do not).
            let from = starts[rng.below(starts.len())].min(v.len());
            let n = (16 + rng.below(256)).min(v.len() - from);
            let to = at_record;
            let chunk: Vec<u8> = bytes[from..from + n].to_vec();
            let end = (to + n).min(v.len());
            v[to..end].copy_from_slice(&chunk[..end - to]);
            first = to;
            what = format!("{} bytes from {} copied to {}", n, from, to);
        }
        _ => {
            // Protocol headers inside a packet: link, network and transport layers.
            let data = at_record + if pcapng { 28 } else { 16 };
            let k = 1 + rng.below(6);
            for _ in 0..k {
                let i = data + rng.below(80);
                if i < v.len() {
                    v[i] = [0, 0xff, 0x0f, 0xf0, 0x45, 0x60, rng.byte()][rng.below(7)];
                    first = first.min(i);
                }
            }
            what = format!("{} header bytes in the packet at {}", k, at_record);
        }
    }
    (v, first.min(bytes.len()), format!("op {}: {}", op, what))
}

fn random_cfg(rng: &mut Rng, seed: u64) -> Cfg {
    let timeouts = match rng.below(4) {
        0 => None,
        1 => Some(NO_TIMEOUTS),
        2 => Some(Timeouts { tcp_idle_ns: 1, other_idle_ns: 1, closed_ns: 1, active_ns: 1 }),
        _ => Some(Timeouts {
            tcp_idle_ns: 1_000_000_000,
            other_idle_ns: 500_000_000,
            closed_ns: 100_000_000,
            active_ns: 2_000_000_000,
        }),
    };
    Cfg {
        max_flows: [16, 64, 4096][rng.below(3)],
        timeouts,
        packets: if rng.percent(50) { Some([0, 64, 65535][rng.below(3)]) } else { None },
        chunks: Chunks::Random(seed),
        ..Cfg::default()
    }
}

#[test]
fn corpus_captures_with_seeded_mutations() {
    watchdog(300, |current| {
        let mut failures = Vec::new();
        let mut mutants = 0usize;
        for (name, bytes) in corpus() {
            let framing = walk(&bytes);
            let n = (3_000_000 / bytes.len().max(1)).clamp(6, 40);
            for k in 0..n {
                let seed = seed_of(&name) ^ (k as u64).wrapping_mul(0x9e37_79b9);
                let mut rng = Rng::new(seed);
                let (m, first, what) = mutate(&bytes, framing.as_ref(), &mut rng);
                let cfg = random_cfg(&mut rng, seed);
                let case = format!("{} mutant {} (seed {:#x}, {})", name, k, seed, what);
                set_current(current, case.clone());
                mutants += 1;
                match caught(|| decode(&m, &cfg)) {
                    Err(p) => failures.push(format!("{}: {}", case, p)),
                    Ok(r) => {
                        // Records wholly before the first changed byte are still decoded.
                        if let Some(f) = framing.as_ref().filter(|f| !f.pcapng) {
                            let kept = f.packets_before(first);
                            if r.records() < kept {
                                failures.push(format!(
                                    "{}: {} records decoded, {} lie before the first changed byte {}",
                                    case,
                                    r.records(),
                                    kept,
                                    first
                                ));
                            }
                        }
                    }
                }
            }
        }
        assert!(mutants > 2_000, "only {} mutants", mutants);
        assert_no_failures("mutated captures", &failures);
    });
}

// ---- crafted captures: builders -------------------------------------------------------------

fn pcap_header(linktype: u32, snaplen: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&snaplen.to_le_bytes());
    v.extend_from_slice(&linktype.to_le_bytes());
    v
}

/// A pcap record whose caplen field says `caplen` (the data may disagree).
fn pcap_rec(sec: u32, caplen: u32, wirelen: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [sec, 0, caplen, wirelen] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn pcap(linktype: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut v = pcap_header(linktype, 65535);
    for (i, f) in frames.iter().enumerate() {
        v.extend(pcap_rec(1000 + i as u32, f.len() as u32, f.len() as u32, f));
    }
    v
}

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(payload);
    v
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v.extend_from_slice(payload);
    v
}

fn udp4_frame(sport: u16) -> Vec<u8> {
    eth(0x0800, &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(sport, 53, b"hello")))
}

/// pcapng writer in either byte order.
#[derive(Clone, Copy)]
struct Ng {
    big: bool,
}

impl Ng {
    fn u16b(self, x: u16) -> [u8; 2] {
        if self.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }

    fn u32b(self, x: u32) -> [u8; 4] {
        if self.big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }

    /// A block with honest lengths; the body is padded to 4 bytes.
    fn block(self, kind: u32, body: &[u8]) -> Vec<u8> {
        let mut b = body.to_vec();
        while b.len() & 3 != 0 {
            b.push(0);
        }
        let len = (12 + b.len()) as u32;
        self.raw_block(kind, len, &b, len)
    }

    /// A block with whatever lengths we are told.
    fn raw_block(self, kind: u32, len: u32, body: &[u8], trailer: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&self.u32b(kind));
        v.extend_from_slice(&self.u32b(len));
        v.extend_from_slice(body);
        v.extend_from_slice(&self.u32b(trailer));
        v
    }

    fn shb(self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(0x1a2b_3c4d));
        body.extend_from_slice(&self.u16b(1));
        body.extend_from_slice(&self.u16b(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &body)
    }

    fn option(self, code: u16, value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&self.u16b(code));
        v.extend_from_slice(&self.u16b(value.len() as u16));
        v.extend_from_slice(value);
        while v.len() & 3 != 0 {
            v.push(0);
        }
        v
    }

    fn idb(self, linktype: u16, options: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16b(linktype));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.u32b(0));
        body.extend_from_slice(options);
        self.block(1, &body)
    }

    fn epb_body(self, iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(iface));
        body.extend_from_slice(&self.u32b((ts >> 32) as u32));
        body.extend_from_slice(&self.u32b(ts as u32));
        body.extend_from_slice(&self.u32b(data.len() as u32));
        body.extend_from_slice(&self.u32b(data.len() as u32));
        body.extend_from_slice(data);
        body
    }

    fn epb(self, iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        self.block(6, &self.epb_body(iface, ts, data))
    }

    fn spb(self, data: &[u8]) -> Vec<u8> {
        let mut body = self.u32b(data.len() as u32).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body)
    }
}

const LE: Ng = Ng { big: false };
const BE: Ng = Ng { big: true };

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A pcapng file: section header, an Ethernet interface, then `rest`.
fn ng_eth(rest: &[Vec<u8>]) -> Vec<u8> {
    let mut v = cat(&[LE.shb(), LE.idb(1, &[])]);
    v.extend(cat(rest));
    v
}

fn expect(r: &Run, status: u32, error: u32, records: u64) {
    assert_eq!(r.outcome(), (status, error), "status/error");
    assert_eq!(r.records(), records, "records");
}

// ---- crafted captures: pcap records ---------------------------------------------------------

#[test]
fn pcap_record_lengths_that_lie() {
    let good = udp4_frame(1000);
    let cfg = Cfg::default();

    // caplen 0: an empty frame, counted and marked, never read past.
    let f = cat(&[
        pcap_header(1, 65535),
        pcap_rec(1, 0, 60, &[]),
        pcap_rec(2, good.len() as u32, good.len() as u32, &good),
    ]);
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 2);
    assert_eq!(r.s(ST_TRUNCATED), 1.0);
    assert_eq!(r.mal(MAL_SNAPLEN_TRUNCATED), 1);
    assert_eq!(r.s(ST_FLOWS_CREATED), 1.0);

    // caplen 0 and wirelen 0.
    let f = cat(&[pcap_header(1, 65535), pcap_rec(1, 0, 0, &[])]);
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.mal(MAL_LINK_TRUNCATED), 1);

    // caplen above the file's snap length (libpcap accepts up to its own maximum).
    let big = eth(0x0800, &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, &[7u8; 400])));
    let mut f = pcap_header(1, 64);
    f.extend(pcap_rec(1, big.len() as u32, big.len() as u32, &big));
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.s(ST_MALFORMED_PKTS), 0.0);

    // Absurd caplens: a corrupt record, found at its own offset, after the good packets.
    for caplen in [0x7fff_ffffu32, 0xffff_ffff, MAX_PCAP_RECORD as u32 + 1] {
        let first = pcap_rec(1, good.len() as u32, good.len() as u32, &good);
        let f = cat(&[pcap_header(1, 65535), first.clone(), pcap_rec(2, caplen, 60, &good), first.clone()]);
        let r = decode_every_way(&f, &cfg);
        expect(&r, STATUS_ERROR, ERR_CORRUPT_RECORD, 1);
        assert_eq!(r.error_offset, (24 + first.len()) as u64, "caplen {:#x}", caplen);
    }

    // caplen exactly at the maximum is a record (cut short here: the file ends inside it).
    let f = cat(&[pcap_header(1, 65535), pcap_rec(1, MAX_PCAP_RECORD as u32, 60, &good)]);
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_ERROR, ERR_TRUNCATED_RECORD, 0);
    assert_eq!(r.error_offset, 24);

    // wirelen below caplen: decoded from the captured bytes, not flagged as cut by the snap length.
    let f = cat(&[pcap_header(1, 65535), pcap_rec(1, good.len() as u32, 10, &good)]);
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.s(ST_TRUNCATED), 0.0);
    assert_eq!(r.s(ST_CAPTURED_BYTES), good.len() as f64);
    assert_eq!(r.s(ST_FLOWS_CREATED), 1.0);

    // A file that is only a header, one cut inside it, an unknown version, not a capture.
    expect(&decode_every_way(&pcap_header(1, 65535), &cfg), STATUS_DONE, ERR_NONE, 0);
    expect(&decode_every_way(&pcap_header(1, 65535)[..23], &cfg), STATUS_ERROR, ERR_TRUNCATED_HEADER, 0);
    let mut v3 = pcap_header(1, 65535);
    v3[4] = 3;
    expect(&decode_every_way(&v3, &cfg), STATUS_ERROR, ERR_UNSUPPORTED_VERSION, 0);
    expect(&decode_every_way(b"GET / HTTP/1.1\r\n\r\n", &cfg), STATUS_ERROR, ERR_NOT_A_CAPTURE, 0);
    expect(&decode_every_way(b"", &cfg), STATUS_ERROR, ERR_EMPTY, 0);
    // An unknown link type: counted, not decoded.
    let r = decode_every_way(&pcap(147, std::slice::from_ref(&good)), &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.s(ST_UNSUPPORTED_LINK_PKTS), 1.0);
}

// ---- crafted captures: protocol headers -----------------------------------------------------

#[test]
fn hostile_protocol_headers() {
    let cfg = Cfg { packets: Some(65535), ..Cfg::default() };
    let one = |frame: Vec<u8>| decode_every_way(&pcap(1, &[frame]), &cfg);

    // IHL 15 (60-byte header) on a 24-byte IP packet; IHL 1; total length below the header.
    let mut ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &[1, 2, 3, 4]);
    ip[0] = 0x4f;
    let r = one(eth(0x0800, &ip));
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.mal(MAL_IPV4_BAD_HEADER_LEN), 1);
    assert_eq!(r.s(ST_FLOWS_CREATED), 0.0);
    ip[0] = 0x41;
    assert_eq!(one(eth(0x0800, &ip)).mal(MAL_IPV4_BAD_HEADER_LEN), 1);
    let mut ip = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b""));
    ip[2] = 0;
    ip[3] = 12;
    assert_eq!(one(eth(0x0800, &ip)).mal(MAL_IPV4_BAD_TOTAL_LEN), 1);
    // IPv4 AH with a length past the packet.
    let ip = ipv4(51, [10, 0, 0, 1], [10, 0, 0, 2], &[17, 200, 0, 0, 0, 0, 0, 0]);
    assert_eq!(one(eth(0x0800, &ip)).mal(MAL_IPV6_EXT_TRUNCATED), 1);

    // IPv6 with a chain of 100 destination-options headers: given up on, not followed forever.
    let mut chain = Vec::new();
    for i in 0..100 {
        chain.extend_from_slice(&[if i == 99 { 17 } else { 60 }, 0, 1, 4, 0, 0, 0, 0]);
    }
    chain.extend(udp(1, 2, b"x"));
    let r = one(eth(0x86dd, &ipv6(60, &chain)));
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.mal(MAL_IPV6_EXT_TRUNCATED), 1);
    assert_eq!(r.s(ST_IPV6_PKTS), 1.0);
    // A short chain still reaches UDP.
    let mut chain = Vec::new();
    for i in 0..10 {
        chain.extend_from_slice(&[if i == 9 { 17 } else { 0 }, 0, 1, 4, 0, 0, 0, 0]);
    }
    chain.extend(udp(1, 2, b"x"));
    let r = one(eth(0x86dd, &ipv6(0, &chain)));
    assert_eq!(r.s(ST_MALFORMED_PKTS), 0.0);
    assert_eq!(r.s(ST_FLOWS_CREATED), 1.0);
    // An extension header whose length runs past the packet; a fragment header cut short.
    let r = one(eth(0x86dd, &ipv6(43, &[17, 255, 0, 1, 0, 0, 0, 0])));
    assert_eq!(r.mal(MAL_IPV6_EXT_TRUNCATED), 1);
    let r = one(eth(0x86dd, &ipv6(44, &[17, 0, 0])));
    assert_eq!(r.mal(MAL_IPV6_EXT_TRUNCATED), 1);
    // Payload length past the frame; routing header with segments left and a short list.
    let mut p = ipv6(17, &udp(1, 2, b"abc"));
    p[4] = 0xff;
    assert_eq!(one(eth(0x86dd, &p)).mal(MAL_IPV6_BAD_PAYLOAD_LEN), 1);
    let mut rh = vec![17, 0, 0, 5, 0, 0, 0, 0];
    rh.extend(udp(1, 2, b""));
    let r = one(eth(0x86dd, &ipv6(43, &rh)));
    expect(&r, STATUS_DONE, ERR_NONE, 1);

    // 100 stacked VLAN tags, then IPv4.
    let mut tags = Vec::new();
    for i in 0..100u16 {
        tags.extend_from_slice(&i.to_be_bytes());
        tags.extend_from_slice(&(if i == 99 { 0x0800u16 } else { 0x8100 }).to_be_bytes());
    }
    tags.extend(ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b"")));
    let r = one(eth(0x8100, &tags));
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.s(ST_VLAN_PKTS), 1.0);
    assert_eq!(r.mal(MAL_VLAN_TRUNCATED), 1);
    assert_eq!(r.s(ST_FLOWS_CREATED), 0.0);
    // A VLAN tag cut in half.
    assert_eq!(one(eth(0x8100, &[0, 5])).mal(MAL_VLAN_TRUNCATED), 1);

    // MPLS: 100 labels with no bottom of stack; labels running off the frame; a good stack.
    let mut labels = Vec::new();
    for _ in 0..100 {
        labels.extend_from_slice(&[0, 0x01, 0x00, 64]);
    }
    let r = one(eth(0x8847, &labels));
    assert_eq!(r.mal(MAL_VLAN_TRUNCATED), 1);
    assert_eq!(r.s(ST_FLOWS_CREATED), 0.0);
    let r = one(eth(0x8847, &[0, 0x01, 0x00, 64, 0, 0x02, 0x00, 64]));
    assert_eq!(r.mal(MAL_VLAN_TRUNCATED), 1);
    let mut good = vec![0, 0x01, 0x00, 64, 0, 0x02, 0x01, 64];
    good.extend(ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(1, 2, b"")));
    let r = one(eth(0x8847, &good));
    assert_eq!(r.s(ST_MALFORMED_PKTS), 0.0);
    assert_eq!(r.s(ST_FLOWS_CREATED), 1.0);

    // Short transport headers and lying lengths.
    let r = one(eth(0x0800, &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &[0, 80, 0, 81, 0, 0])));
    assert_eq!(r.mal(MAL_TCP_TRUNCATED), 1);
    let mut tcp = vec![0u8; 20];
    tcp[12] = 0xf0;
    let r = one(eth(0x0800, &ipv4(6, [10, 0, 0, 1], [10, 0, 0, 2], &tcp)));
    assert_eq!(r.mal(MAL_TCP_BAD_OFFSET), 1);
    let mut u = udp(1, 2, b"abc");
    u[4] = 0xff;
    assert_eq!(one(eth(0x0800, &ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &u))).mal(MAL_UDP_BAD_LENGTH), 1);
    assert_eq!(one(eth(0x0800, &ipv4(1, [10, 0, 0, 1], [10, 0, 0, 2], &[8]))).mal(MAL_ICMP_TRUNCATED), 1);
    // ARP with huge address lengths; a 13-byte Ethernet frame; PPPoE with nothing after it.
    let r = one(eth(0x0806, &[0, 1, 8, 0, 255, 255, 0, 1, 1, 2, 3]));
    assert_eq!(r.mal(MAL_ARP_TRUNCATED), 1);
    assert_eq!(one(vec![0; 13]).mal(MAL_LINK_TRUNCATED), 1);
    assert_eq!(one(eth(0x8864, &[0x11, 0, 0, 1])).mal(MAL_VLAN_TRUNCATED), 1);

    // Every link type, fed frames of every length 0..64 of one noisy pattern.
    let mut rng = Rng::new(7);
    let noise: Vec<u8> = (0..64).map(|_| rng.byte()).collect();
    for linktype in [0u32, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 239, 276] {
        let frames: Vec<Vec<u8>> = (0..=64).map(|n| noise[..n].to_vec()).collect();
        let r = decode_every_way(&pcap(linktype, &frames), &cfg);
        expect(&r, STATUS_DONE, ERR_NONE, 65);
    }
}

// ---- crafted captures: pcapng blocks --------------------------------------------------------

#[test]
fn pcapng_block_lengths_that_lie() {
    let cfg = Cfg::default();
    let frame = udp4_frame(1000);
    let good = LE.epb(0, 1, &frame);
    let base = ng_eth(std::slice::from_ref(&good));
    let after = |bad: Vec<u8>| cat(&[base.clone(), bad, good.clone()]);
    let mut body = LE.epb_body(0, 2, &frame);
    while body.len() & 3 != 0 {
        body.push(0);
    }

    // Too small, not a multiple of 4, a trailer that disagrees: corrupt, found at the block.
    for (what, bad) in [
        ("length 8", LE.raw_block(6, 8, &[], 8)),
        ("length 0", LE.raw_block(6, 0, &[], 0)),
        ("length 30", LE.raw_block(6, 30, &body[..18], 30)),
        ("trailer", LE.raw_block(6, (12 + body.len()) as u32, &body, 999)),
        ("over 16 MiB", LE.raw_block(6, MAX_PCAPNG_BLOCK as u32 + 4, &body, 0)),
        ("length 0xffffffff", LE.raw_block(6, 0xffff_ffff, &body, 0)),
    ] {
        let r = decode_every_way(&after(bad), &cfg);
        assert_eq!(r.outcome(), (STATUS_ERROR, ERR_CORRUPT_BLOCK), "{}", what);
        assert_eq!(r.records(), 1, "{}", what);
        assert_eq!(r.error_offset, base.len() as u64, "{}", what);
    }

    // Longer than the rest of the file: the capture was cut short there.
    let lie = LE.raw_block(6, 4096, &body, 4096);
    let r = decode_every_way(&cat(&[base.clone(), lie]), &cfg);
    expect(&r, STATUS_ERROR, ERR_TRUNCATED_RECORD, 1);
    assert_eq!(r.error_offset, base.len() as u64);

    // A 12-byte EPB (no body): well framed, invalid inside; skipped, decoding goes on.
    let r = decode_every_way(&after(LE.raw_block(6, 12, &[], 12)), &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 2);
    assert_eq!(r.mal(MAL_RECORD_INVALID), 1);
    // An EPB whose caplen exceeds its block.
    let mut b = body.clone();
    b[12..16].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let r = decode_every_way(&after(LE.block(6, &b)), &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 2);
    assert_eq!(r.mal(MAL_RECORD_INVALID), 1);

    // A section header whose length lies, or with an unknown byte-order magic or version.
    let mut shb = LE.shb();
    shb[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    expect(&decode_every_way(&shb, &cfg), STATUS_ERROR, ERR_CORRUPT_BLOCK, 0);
    let mut shb = LE.shb();
    shb[8] = 0x99;
    expect(&decode_every_way(&cat(&[shb, LE.idb(1, &[]), good.clone()]), &cfg), STATUS_ERROR, ERR_CORRUPT_BLOCK, 0);
    let mut shb = LE.shb();
    shb[12] = 2;
    expect(&decode_every_way(&shb, &cfg), STATUS_ERROR, ERR_UNSUPPORTED_VERSION, 0);

    // Unknown block types are skipped whole.
    let r = decode_every_way(&after(LE.block(0x0bad_0bad, &[1, 2, 3, 4, 5])), &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 2);
}

#[test]
fn pcapng_interfaces_that_do_not_exist() {
    let cfg = Cfg::default();
    let frame = udp4_frame(1000);

    // EPB naming interface 5 when only interface 0 exists: skipped, the next one decoded.
    let r =
        decode_every_way(&ng_eth(&[LE.epb(5, 1, &frame), LE.epb(0xffff_ffff, 1, &frame), LE.epb(0, 2, &frame)]), &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.mal(MAL_RECORD_INVALID), 2);

    // SPB before any IDB; then after one (taking the previous packet's time).
    let f = cat(&[LE.shb(), LE.spb(&frame), LE.idb(1, &[]), LE.spb(&frame), LE.spb(&[])]);
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 2);
    assert_eq!(r.mal(MAL_RECORD_INVALID), 1);
    // An SPB claiming a packet far longer than its block.
    let mut body = LE.u32b(0xffff_fff0).to_vec();
    body.extend_from_slice(&frame);
    let r = decode_every_way(&cat(&[LE.shb(), LE.idb(1, &[]), LE.block(3, &body)]), &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.s(ST_TRUNCATED), 1.0);

    // A pcapng with no interfaces at all: every packet block is invalid, none is a packet.
    let f = cat(&[LE.shb(), LE.epb(0, 1, &frame), LE.spb(&frame), LE.epb(1, 1, &frame)]);
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 0);
    assert_eq!(r.mal(MAL_RECORD_INVALID), 3);
    assert_eq!(r.s(ST_INTERFACES), 0.0);
    // Only a section header.
    expect(&decode_every_way(&LE.shb(), &cfg), STATUS_DONE, ERR_NONE, 0);

    // Interfaces belong to their section: after a new SHB, interface 0 is gone.
    let f = cat(&[LE.shb(), LE.idb(1, &[]), LE.epb(0, 1, &frame), LE.shb(), LE.epb(0, 2, &frame)]);
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.mal(MAL_RECORD_INVALID), 1);
}

#[test]
fn pcapng_options_and_timestamp_resolutions() {
    let cfg = Cfg { packets: Some(0), ..Cfg::default() };
    let frame = udp4_frame(1000);

    // if_tsresol: (byte, expected IF_TS_UNITS). Out-of-range values keep microseconds.
    for (resol, units) in
        [(0xffu8, 6u32), (19, 19), (20, 6), (0x80 | 63, 255), (0x80 | 64, 6), (0, 0), (0x80, 255), (9, 9)]
    {
        let idb = LE.idb(1, &LE.option(9, &[resol]));
        for ts in [0u64, 1, 12_345_678_901, u64::MAX, u64::MAX - 1, 1 << 63] {
            let f = cat(&[LE.shb(), idb.clone(), LE.epb(0, ts, &frame), LE.epb(0, ts / 2, &frame)]);
            let r = decode_every_way(&f, &cfg);
            expect(&r, STATUS_DONE, ERR_NONE, 2);
            assert_eq!(r.iface_units, vec![units], "if_tsresol {:#x}", resol);
            assert!(r.s(ST_FIRST_NSEC) < 1e9 && r.s(ST_LAST_NSEC) < 1e9);
            assert!(r.s(ST_FIRST_SEC) <= r.s(ST_LAST_SEC));
        }
    }
    // if_tsoffset at the extremes.
    for offset in [i64::MAX, i64::MIN, -1, 1] {
        let idb = LE.idb(1, &cat(&[LE.option(9, &[9]), LE.option(14, &offset.to_le_bytes())]));
        let f = cat(&[LE.shb(), idb, LE.epb(0, 5, &frame), LE.epb(0, u64::MAX, &frame)]);
        expect(&decode_every_way(&f, &cfg), STATUS_DONE, ERR_NONE, 2);
    }

    // Options whose length runs past the block: the interface still exists.
    let mut opts = LE.u16b(2).to_vec();
    opts.extend_from_slice(&LE.u16b(200));
    opts.extend_from_slice(b"eth0");
    for options in [opts.clone(), cat(&[LE.option(9, &[6]), opts.clone()]), vec![2, 0, 0xff, 0xff], vec![9, 0]] {
        let f = cat(&[LE.shb(), LE.idb(1, &options), LE.epb(0, 1, &frame)]);
        let r = decode_every_way(&f, &cfg);
        expect(&r, STATUS_DONE, ERR_NONE, 1);
        assert_eq!(r.iface_events, 1);
    }
    // A very long interface name is cut to 256 bytes in its event.
    let f = cat(&[LE.shb(), LE.idb(1, &LE.option(2, &[b'x'; 4000])), LE.epb(0, 1, &frame)]);
    expect(&decode_every_way(&f, &cfg), STATUS_DONE, ERR_NONE, 1);
    // EPB options that lie are not read at all.
    let mut body = LE.epb_body(0, 1, &frame);
    while body.len() & 3 != 0 {
        body.push(0);
    }
    body.extend_from_slice(&[1, 0, 0xff, 0xff, 0, 0]);
    let f = cat(&[LE.shb(), LE.idb(1, &[]), LE.block(6, &body)]);
    expect(&decode_every_way(&f, &cfg), STATUS_DONE, ERR_NONE, 1);
}

#[test]
fn pcapng_sections_in_both_byte_orders() {
    let cfg = Cfg { packets: Some(16), ..Cfg::default() };
    let frame = udp4_frame(1000);
    let raw = ipv4(17, [10, 0, 0, 3], [10, 0, 0, 4], &udp(7, 8, b"x"));
    let f = cat(&[
        LE.shb(),
        LE.idb(1, &[]),
        LE.epb(0, 1, &frame),
        BE.shb(),
        BE.idb(101, &BE.option(2, b"be0")),
        BE.epb(0, 2, &raw),
        BE.spb(&raw),
        LE.shb(),
        LE.idb(276, &[]),
        LE.idb(1, &[]),
        LE.epb(1, 3, &frame),
    ]);
    let r = decode_every_way(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 4);
    assert_eq!(r.s(ST_IPV4_PKTS), 4.0);
    assert_eq!(r.s(ST_INTERFACES), 4.0);
    assert_eq!(r.s(ST_MALFORMED_PKTS), 0.0);
    assert_eq!(r.s(ST_FLOWS_CREATED), 2.0);
    // A big-endian block in a little-endian section is a corrupt block, not a misread packet.
    let f = cat(&[LE.shb(), LE.idb(1, &[]), BE.epb(0, 1, &frame)]);
    let r = decode_every_way(&f, &cfg);
    assert_eq!(r.outcome(), (STATUS_ERROR, ERR_CORRUPT_BLOCK));
    // The same file fed as two files in a row: interface ids keep counting, flows carry over.
    let cfg = Cfg::default();
    let mut d = new_decoder(&cfg);
    let mut run = Run::default();
    let one = ng_eth(&[LE.epb(0, 1, &frame)]);
    decode_with(&mut d, &one, &cfg, &mut run);
    d.begin_file();
    decode_with(&mut d, &cat(&[LE.shb(), LE.idb(1, &[]), LE.epb(0, 1, &frame)]), &cfg, &mut run);
    finish(&mut d, &mut run, &cfg);
    expect(&run, STATUS_DONE, ERR_NONE, 2);
    assert_eq!(run.s(ST_FLOWS_CREATED), 1.0);
}

#[test]
fn pcapng_blocks_too_big_to_buffer() {
    let frame = udp4_frame(1000);
    let cfg = Cfg { input_cap: MIN_INPUT, chunks: Chunks::Random(3), ..Cfg::default() };
    // A 16 MiB EPB (libpcap's limit) cannot be buffered: it is skipped whole, the next is decoded.
    let huge_len = MAX_PCAPNG_BLOCK;
    let mut body = LE.epb_body(0, 1, &frame);
    let data_len = huge_len - 12 - body.len();
    body.resize(body.len() + data_len, 0xab);
    let huge = LE.raw_block(6, huge_len as u32, &body, huge_len as u32);
    assert_eq!(huge.len(), huge_len);
    let f = ng_eth(&[huge.clone(), LE.epb(0, 2, &frame)]);
    for chunks in [Chunks::Whole, Chunks::Random(3), Chunks::Fixed(65536)] {
        let r = decode(&f, &cfg.with_chunks(chunks));
        expect(&r, STATUS_DONE, ERR_NONE, 1);
        assert_eq!(r.mal(MAL_RECORD_INVALID), 1);
    }
    // The same block at the end of a file that stops 1 MiB into it: cut short.
    let f = ng_eth(&[LE.epb(0, 2, &frame), huge[..1 << 20].to_vec()]);
    let r = decode(&f, &cfg);
    assert_eq!(r.outcome(), (STATUS_ERROR, ERR_TRUNCATED_RECORD));
    assert_eq!(r.records(), 1);
    // An unknown 8 MiB block in the middle is skipped; one past 16 MiB is corrupt.
    let f = ng_eth(&[LE.block(0x0bad, &vec![0; 8 << 20]), LE.epb(0, 2, &frame)]);
    expect(&decode(&f, &cfg), STATUS_DONE, ERR_NONE, 1);
    let mut lie = LE.block(0x0bad, &[0; 64]);
    lie[4..8].copy_from_slice(&(MAX_PCAPNG_BLOCK as u32 + 4).to_le_bytes());
    assert_eq!(decode(&ng_eth(&[lie]), &cfg).outcome(), (STATUS_ERROR, ERR_CORRUPT_BLOCK));
}

#[test]
fn records_straddling_every_read_with_full_size_reads() {
    // ~30 MB of 1,515-byte records: with full-size reads, every read ends inside a record and
    // the carried part must survive the next read landing while the window is decoded.
    let frame = {
        let mut f = udp4_frame(1000);
        f.resize(1499, 0);
        f
    };
    let mut pcap_file = pcap_header(1, 65535);
    let mut ng_file = cat(&[LE.shb(), LE.idb(1, &[])]);
    for i in 0..20_000u32 {
        pcap_file.extend(pcap_rec(i, frame.len() as u32, frame.len() as u32, &frame));
        ng_file.extend(LE.epb(0, i as u64, &frame));
    }
    for (name, f) in [("pcap", &pcap_file), ("pcapng", &ng_file)] {
        for chunks in [Chunks::Whole, Chunks::Fixed(1 << 20), Chunks::Random(17)] {
            let r = decode(f, &Cfg { chunks, ..Cfg::default() });
            assert_eq!(r.outcome(), (STATUS_DONE, ERR_NONE), "{} {:?}", name, chunks);
            assert_eq!(r.records(), 20_000, "{} {:?}", name, chunks);
            assert_eq!(r.s(ST_MALFORMED_PKTS), 0.0, "{} {:?}", name, chunks);
        }
    }
}

#[test]
fn interfaces_per_section_are_bounded() {
    // 20,000 interface blocks, each followed by a packet on it: memory stays bounded, so the first
    // MAX_INTERFACES are kept and the other blocks, and the packets on them, are counted invalid.
    let frame = udp4_frame(1000);
    let mut f = LE.shb();
    for i in 0..20_000u32 {
        f.extend(LE.idb(1, &LE.option(2, b"an-interface-name")));
        f.extend(LE.epb(i, i as u64, &frame));
    }
    let r = decode(&f, &Cfg { chunks: Chunks::Random(11), ..Cfg::default() });
    let kept = wiresight_decoder::capture::MAX_INTERFACES;
    expect(&r, STATUS_DONE, ERR_NONE, kept as u64);
    assert_eq!(r.iface_events, kept as u64);
    assert_eq!(r.s(ST_MALFORMED_BASE + MAL_RECORD_INVALID as usize), 2.0 * (20_000 - kept) as f64);
    assert_eq!(r.s(ST_FLOWS_CREATED), 1.0);
}

// ---- flows: boundedness ---------------------------------------------------------------------

/// `n` packets, each its own UDP flow (10.a.b.c:port -> 192.0.2.1:53), `step_ns` apart.
fn distinct_udp_flows(n: u32, step_ns: u64) -> Vec<u8> {
    let mut v = pcap_header(1, 65535);
    v[0..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    let frame = udp4_frame(0);
    let template = pcap_rec(0, frame.len() as u32, frame.len() as u32, &frame);
    v.reserve(n as usize * template.len());
    for i in 0..n {
        let at = v.len();
        v.extend_from_slice(&template);
        let r = &mut v[at..];
        let ts = 1_700_000_000_000_000_000u64 + i as u64 * step_ns;
        r[0..4].copy_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        r[4..8].copy_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
        let a = i >> 12;
        r[16 + 26..16 + 30].copy_from_slice(&[10, (a >> 8) as u8, a as u8, (i >> 4) as u8]);
        r[16 + 30..16 + 34].copy_from_slice(&[192, 0, 2, 1]);
        r[16 + 34..16 + 36].copy_from_slice(&(1024 + (i & 0xf) as u16).to_be_bytes());
    }
    v
}

#[test]
fn a_million_flows_through_a_thousand_slots() {
    watchdog(300, |current| {
        set_current(current, String::from("1,000,000 UDP flows, max_flows 1000"));
        let n = 1_000_000u32;
        let f = distinct_udp_flows(n, 1_000);
        let cfg = Cfg {
            max_flows: 1000,
            timeouts: Some(NO_TIMEOUTS),
            chunks: Chunks::Random(5),
            track_ids: true,
            ..Cfg::default()
        };
        let r = decode(&f, &cfg);
        expect(&r, STATUS_DONE, ERR_NONE, n as u64);
        assert!(r.most_active <= 1000, "{} flows active at once", r.most_active);
        assert_eq!(r.s(ST_FLOWS_PEAK), 1000.0);
        assert_eq!(r.s(ST_FLOWS_CREATED), n as f64);
        assert_eq!(r.s(ST_FLOWS_EVICTED), (n - 1000) as f64);
        assert_eq!(r.evicted_events, (n - 1000) as u64);
        assert_eq!(r.flow_events, n as u64);
        let once = r.finals.iter().skip(1).filter(|&&c| c == 1).count();
        let ids = r.finals.len() - 1;
        assert_eq!(ids, n as usize, "flow ids 1..=n");
        assert_eq!(once, n as usize, "every flow emitted exactly once");

        // With an idle timeout, flows leave by idling too; still each exactly once.
        set_current(current, String::from("200,000 UDP flows, idle timeout, max_flows 1000"));
        let n = 200_000u32;
        let f = distinct_udp_flows(n, 1_000_000);
        let t = Timeouts { other_idle_ns: 500_000_000, ..NO_TIMEOUTS };
        let cfg =
            Cfg { max_flows: 1000, timeouts: Some(t), chunks: Chunks::Random(6), track_ids: true, ..Cfg::default() };
        let r = decode(&f, &cfg);
        assert!(r.most_active <= 1000);
        assert_eq!(r.s(ST_FLOWS_EVICTED), 0.0, "idle flows leave before the table fills");
        assert_eq!(r.flow_events, n as u64);
        assert!(r.finals.iter().skip(1).all(|&c| c == 1));
        assert_eq!(r.finals.len() - 1, n as usize);
        assert!(r.s(ST_FLOWS_IDLE) >= (n - 1000) as f64);
    });
}

// ---- flows: events and timeouts at the edges ------------------------------------------------

#[test]
fn expired_flows_never_crowd_out_the_packet_event() {
    // 12,000 UDP flows go idle together; the packet that ends them must still get its event
    // (the smallest event buffer holds 8,192 flow records).
    let mut f = distinct_udp_flows(12_000, 1_000);
    let late = udp4_frame(4242);
    f.extend(pcap_rec(1_700_000_100, late.len() as u32, late.len() as u32, &late));
    let t = Timeouts { other_idle_ns: 10_000_000_000, ..NO_TIMEOUTS };
    let cfg = Cfg { max_flows: 20_000, out_cap: 1 << 20, timeouts: Some(t), packets: Some(0), ..Cfg::default() };
    let r = decode(&f, &cfg);
    expect(&r, STATUS_DONE, ERR_NONE, 12_001);
    // decode() asserts packet events == packets; the flows all leave exactly once.
    assert_eq!(r.flow_events, 12_001);
}

#[test]
fn timestamps_at_the_u64_limit_do_not_split_flows_endlessly() {
    // if_tsresol 0 (seconds) and a raw time of 2^64-1 s: the nanosecond time saturates at u64::MAX.
    let frame = udp4_frame(1000);
    let idb = LE.idb(1, &LE.option(9, &[0]));
    let f = cat(&[LE.shb(), idb, LE.epb(0, u64::MAX, &frame), LE.epb(0, u64::MAX, &frame)]);
    // Only an active timeout: one flow, two packets, one record.
    let t = Timeouts { active_ns: 1_800_000_000_000, ..NO_TIMEOUTS };
    let r = decode(&f, &Cfg { timeouts: Some(t), ..Cfg::default() });
    expect(&r, STATUS_DONE, ERR_NONE, 2);
    assert_eq!(r.active_splits, 0, "active-timeout records for a flow 0 s old");
    assert_eq!(r.flow_events, 1);
    // Only an idle timeout: the second packet comes 0 s after the first; the flow is not idle.
    let t = Timeouts { other_idle_ns: 60_000_000_000, ..NO_TIMEOUTS };
    let r = decode(&f, &Cfg { timeouts: Some(t), ..Cfg::default() });
    assert_eq!(r.s(ST_FLOWS_CREATED), 1.0, "flow ended as idle 0 s after its last packet");
    assert_eq!(r.s(ST_FLOWS_IDLE), 0.0);
}

#[test]
fn pcapng_cut_inside_its_section_header_is_a_truncated_header() {
    // Like a pcap file cut inside its 24-byte header, a pcapng file that ends inside its first
    // section header block has no packets and no usable header: ERR_TRUNCATED_HEADER.
    let f = cat(&[LE.shb(), LE.idb(1, &[])]);
    let shb_len = LE.shb().len();
    for c in [4, 8, 11, 12, 16, shb_len - 1] {
        let r = decode(&f[..c], &Cfg::default());
        assert_eq!(r.outcome(), (STATUS_ERROR, ERR_TRUNCATED_HEADER), "pcapng cut at {}", c);
    }
}

// ---- BPF programs -------------------------------------------------------------------------

#[test]
fn random_bpf_programs_validate_or_are_refused_and_never_panic() {
    let mut rng = Rng::new(99);
    let mut packets: Vec<Vec<u8>> = vec![vec![], vec![0x45], udp4_frame(80)];
    for n in [13usize, 60, 1500] {
        packets.push((0..n).map(|_| rng.byte()).collect());
    }
    let codes: [u16; 24] = [
        0x00, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x60, 0x80, 0x01, 0x61, 0xb1, 0x02, 0x03, 0x04, 0x0c, 0x34, 0x3c,
        0x94, 0x9c, 0x15, 0x25, 0x05, 0x87,
    ];
    let mut valid = 0;
    for _ in 0..20_000 {
        let len = 1 + rng.below(24);
        let mut prog: Vec<Insn> = (0..len)
            .map(|_| Insn {
                code: if rng.percent(90) { codes[rng.below(codes.len())] } else { rng.next() as u16 },
                jt: rng.below(4) as u8,
                jf: rng.below(4) as u8,
                k: if rng.percent(70) { rng.below(80) as u32 } else { rng.next() as u32 },
            })
            .collect();
        if rng.percent(80) {
            prog.push(Insn { code: [0x06, 0x16][rng.below(2)], jt: 0, jf: 0, k: 65535 });
        }
        if !bpf::validate(&prog) {
            continue;
        }
        valid += 1;
        for p in &packets {
            let _ = bpf::run(&prog, p, p.len() as u32);
        }
    }
    assert!(valid > 1_000, "only {} valid programs", valid);
}

// ---- name resolution and interface statistics blocks ----------------------------------------

#[test]
fn name_resolution_blocks_with_lying_records_stay_bounded() {
    for ng in [LE, BE] {
        let record = |kind: u16, value: &[u8], claimed: u16| {
            let mut v = ng.u16b(kind).to_vec();
            v.extend_from_slice(&ng.u16b(claimed));
            v.extend_from_slice(value);
            while v.len() & 3 != 0 {
                v.push(0);
            }
            v
        };
        let mut body = Vec::new();
        for i in 0..3000u32 {
            let mut value = i.to_be_bytes().to_vec();
            value.extend_from_slice(b"host.example\0");
            body.extend(record(1, &value, value.len() as u16));
        }
        let mut long = vec![0u8; 16];
        long.extend(std::iter::repeat(b'x').take(1000));
        body.extend(record(2, &long, long.len() as u16));
        body.extend(record(1, &[10, 0, 0, 1], 4));
        body.extend(record(1, &[10, 0, 0, 2, b'a'], 60_000));
        let f = cat(&[ng.shb(), ng.idb(1, &[]), ng.block(4, &body), ng.epb(0, 1, &udp4_frame(7))]);
        for chunks in [Chunks::Whole, Chunks::Fixed(1), Chunks::Random(5)] {
            let r = decode(&f, &Cfg { chunks, ..Cfg::default() });
            expect(&r, STATUS_DONE, ERR_NONE, 1);
            // 3000 IPv4 names, the 255-byte-capped IPv6 one; the nameless and the lying records give none.
            assert_eq!(r.name_events, 3001, "{:?}", chunks);
        }
    }
}

#[test]
fn interface_statistics_for_unknown_interfaces_are_invalid() {
    let isb = |iface: u32| {
        let mut body = LE.u32b(iface).to_vec();
        body.extend_from_slice(&[0; 8]);
        body.extend(LE.option(4, &7u64.to_le_bytes()));
        body.extend(LE.option(5, &[1, 2, 3]));
        LE.block(5, &body)
    };
    let f = cat(&[LE.shb(), LE.idb(1, &[]), isb(0), isb(9), LE.epb(0, 1, &udp4_frame(7))]);
    let r = decode(&f, &Cfg::default());
    expect(&r, STATUS_DONE, ERR_NONE, 1);
    assert_eq!(r.ifstats_events, 1);
    assert_eq!(r.mal(MAL_RECORD_INVALID), 1);
}
