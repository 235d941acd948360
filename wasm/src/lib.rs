//! wiresight's packet decoder. Reads pcap/pcapng bytes, decodes link to transport layers, tracks
//! flows and writes fixed-layout events for the TypeScript side. The ABI is in `wasm/ABI.md`.
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod agg;
pub mod app;
pub mod bpf;
pub mod bytes;
pub mod capture;
pub mod conn;
pub mod decoder;
pub mod exports;
pub mod filter;
pub mod flow;
pub mod frag;
pub mod link;
pub mod net;
pub mod out;
pub mod packet;
pub mod rate;
pub mod shard;
pub mod stats;
pub mod transport;
pub mod tunnel;
