//! The ABI edge (wasm/ABI.md): the only `unsafe` code. A handle is a `Box<Decoder>` pointer
//! owned by the TS side between `ws_new` and `ws_free`; every function taking one is `unsafe`
//! because it trusts the caller to pass a live handle.

use crate::abi::*;
use crate::decoder::Decoder;
use crate::flow::Timeouts;

/// # Safety
/// `h` must be a handle returned by `ws_new` and not yet freed; TS calls from one thread.
unsafe fn dec<'a>(h: *mut Decoder) -> &'a mut Decoder {
    // SAFETY: guaranteed by the caller (above).
    unsafe { &mut *h }
}

#[no_mangle]
pub extern "C" fn ws_abi_version() -> u32 {
    ABI_VERSION
}

#[no_mangle]
pub extern "C" fn ws_new(input_cap: u32, out_cap: u32, max_flows: u32) -> *mut Decoder {
    match Decoder::new(input_cap as usize, out_cap as usize, max_flows as usize) {
        Some(d) => Box::into_raw(Box::new(d)),
        None => std::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn ws_free(h: *mut Decoder) {
    if !h.is_null() {
        // SAFETY: the handle came from Box::into_raw in ws_new and is freed once.
        drop(unsafe { Box::from_raw(h) });
    }
}

#[no_mangle]
pub unsafe extern "C" fn ws_reset(h: *mut Decoder) {
    unsafe { dec(h) }.reset();
}

#[no_mangle]
pub unsafe extern "C" fn ws_input_ptr(h: *mut Decoder) -> *mut u8 {
    unsafe { dec(h) }.input.as_mut_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn ws_input_cap(h: *mut Decoder) -> u32 {
    unsafe { dec(h) }.input.len() as u32
}

#[no_mangle]
pub unsafe extern "C" fn ws_scratch_ptr(h: *mut Decoder) -> *mut u8 {
    unsafe { dec(h) }.scratch.as_mut_ptr()
}

fn ns(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1e9) as u64
    } else {
        0
    }
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_timeouts(h: *mut Decoder, tcp_idle: f64, udp_idle: f64, closed: f64, active: f64) {
    unsafe { dec(h) }.set_timeouts(Timeouts {
        tcp_idle_ns: ns(tcp_idle),
        other_idle_ns: ns(udp_idle),
        closed_ns: ns(closed),
        active_ns: ns(active),
    });
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_conn_tracking(h: *mut Decoder, mode: u32) {
    unsafe { dec(h) }.set_conn_tracking(mode);
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_packet_output(h: *mut Decoder, on: u32, payload_max: u32) {
    unsafe { dec(h) }.set_packet_output(on != 0, payload_max as usize);
}

#[no_mangle]
pub unsafe extern "C" fn ws_filter_protocols(h: *mut Decoder, include: u32, exclude: u32) {
    unsafe { dec(h) }.eng.filter.set_protocols(include, exclude);
}

#[no_mangle]
pub unsafe extern "C" fn ws_filter_add_host(h: *mut Decoder, prefix: u32, ipver: u32) {
    // SAFETY: ws_* functions are called with live handles only (see `dec`).
    let d = unsafe { dec(h) };
    let mut addr = [0u8; 16];
    addr.copy_from_slice(&d.scratch[..16]);
    let v = if ipver == 6 { L3_IPV6 } else { L3_IPV4 };
    d.eng.filter.add_host(addr, prefix, v);
}

#[no_mangle]
pub unsafe extern "C" fn ws_filter_add_port(h: *mut Decoder, port: u32) {
    unsafe { dec(h) }.eng.filter.add_port(port as u16);
}

#[no_mangle]
pub unsafe extern "C" fn ws_filter_no_loopback(h: *mut Decoder, on: u32) {
    unsafe { dec(h) }.eng.filter.set_no_loopback(on != 0);
}

#[no_mangle]
pub unsafe extern "C" fn ws_filter_app_marks(
    h: *mut Decoder,
    first: f64,
    records: u32,
    include: u32,
    exclude: u32,
) -> *mut u8 {
    let filter = &mut unsafe { dec(h) }.eng.filter;
    match filter.set_app_marks(first as usize, records as usize, include != 0, exclude != 0) {
        Some(marks) => marks.as_mut_ptr(),
        None => std::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn ws_filter_bpf_enable(h: *mut Decoder, on: u32) {
    unsafe { dec(h) }.enable_bpf(on != 0);
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_bpf(h: *mut Decoder, linktype: u32, count: u32) -> i32 {
    if unsafe { dec(h) }.set_bpf(linktype, count as usize) {
        0
    } else {
        -1
    }
}

#[no_mangle]
pub unsafe extern "C" fn ws_begin_file(h: *mut Decoder) {
    unsafe { dec(h) }.begin_file();
}

#[no_mangle]
pub unsafe extern "C" fn ws_feed(h: *mut Decoder, start: u32, len: u32, eof: u32) -> u32 {
    unsafe { dec(h) }.feed(start as usize, len as usize, eof != 0) as u32
}

#[no_mangle]
pub unsafe extern "C" fn ws_status(h: *mut Decoder) -> u32 {
    unsafe { dec(h) }.eng.status
}

#[no_mangle]
pub unsafe extern "C" fn ws_need_linktype(h: *mut Decoder) -> u32 {
    unsafe { dec(h) }.eng.need_linktype
}

#[no_mangle]
pub unsafe extern "C" fn ws_error_code(h: *mut Decoder) -> u32 {
    unsafe { dec(h) }.eng.error
}

#[no_mangle]
pub unsafe extern "C" fn ws_error_offset(h: *mut Decoder) -> f64 {
    unsafe { dec(h) }.eng.error_offset as f64
}

#[no_mangle]
pub unsafe extern "C" fn ws_out_ptr(h: *mut Decoder) -> *const u8 {
    unsafe { dec(h) }.eng.out.buf.as_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn ws_out_len(h: *mut Decoder) -> u32 {
    unsafe { dec(h) }.eng.out.len as u32
}

#[no_mangle]
pub unsafe extern "C" fn ws_out_clear(h: *mut Decoder) {
    unsafe { dec(h) }.eng.out.clear();
}

#[no_mangle]
pub unsafe extern "C" fn ws_stats_ptr(h: *mut Decoder) -> *const f64 {
    unsafe { dec(h) }.stats().as_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn ws_finish(h: *mut Decoder) -> u32 {
    unsafe { dec(h) }.finish() as u32
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_flow_output(h: *mut Decoder, on: u32) {
    unsafe { dec(h) }.eng.flows.flow_events = on != 0;
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_flow_start_output(h: *mut Decoder, on: u32) {
    unsafe { dec(h) }.eng.flows.start_events = on != 0;
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_host_rates(h: *mut Decoder, window_ms: u32, min_packets: u32, min_syns: u32) {
    unsafe { dec(h) }.eng.rates.configure(window_ms, min_packets, min_syns);
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_known_port(h: *mut Decoder, proto: u32, port: u32) {
    unsafe { dec(h) }.eng.flows.agg.set_known_port(proto as u8, port as u16);
}

#[no_mangle]
pub unsafe extern "C" fn ws_top(h: *mut Decoder, table: u32, n: u32) -> u32 {
    let e = &mut unsafe { dec(h) }.eng;
    e.flows.agg.write_top(table as u8, n as usize, &mut e.out) as u32
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_app_decoding(h: *mut Decoder, on: u32) {
    unsafe { dec(h) }.eng.apps.enabled = on != 0;
}

/// A ClientHello decrypted from a client's QUIC Initials (src/app/quic.ts): scratch holds the
/// Initial's event header, then the `len`-byte handshake message at AP_DATA.
#[no_mangle]
pub unsafe extern "C" fn ws_quic_client_hello(h: *mut Decoder, len: u32) -> u32 {
    use crate::app::quic::{client_hello, HelloResult};
    // SAFETY: ws_* functions are called with live handles only (see `dec`).
    let d = unsafe { dec(h) };
    let e = match d.scratch.get(..AP_DATA.at + len as usize) {
        Some(e) => e,
        None => return 2,
    };
    match client_hello(&mut d.eng.out, &mut d.eng.stats, e) {
        HelloResult::Written => 0,
        HelloResult::NoRoom => 1,
        HelloResult::Rejected => 2,
    }
}

#[no_mangle]
pub unsafe extern "C" fn ws_set_shard(h: *mut Decoder, index: u32, count: u32) {
    let eng = &mut unsafe { dec(h) }.eng;
    let count = count.max(1);
    eng.shard = crate::shard::Shard { index: index.min(count - 1), count };
    eng.flows.set_ids(index.min(count - 1) as u64 + 1, count as u64);
}
