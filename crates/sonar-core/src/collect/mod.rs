//! One collector per source. Each reads its kernel files under the configured roots, keeps its
//! per-cache-time baselines in a `crate::baselines::Baselines`, and degrades to zero/absent
//! values — never a panic — when a file is missing or odd.

pub mod battery;
pub(crate) mod child;
pub mod containers;
pub mod cpu;
pub mod disk;
pub mod fans;
pub mod gpu;
pub(crate) mod hwmon;
pub mod mdraid;
pub mod memory;
pub mod network;
pub mod portable;
pub mod sensors;
pub mod smart;
pub mod system;
pub mod systemd;
