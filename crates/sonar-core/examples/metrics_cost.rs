//! Where one Prometheus scrape's core time goes on this host: reading (the /proc and /sys
//! families), rendering and gzip, each timed over many rounds, with the heap allocations each
//! makes. `cargo run --release --example metrics_cost [rounds] [pause ms]`; bench:metrics measures the whole
//! agent against node_exporter, this splits the core's part of it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sonar_core::metrics::exposition::{self, Format, Gzip};
use sonar_core::metrics::MetricsInput;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let mut agent = sonar_core::agent::Agent::new(Default::default());
    let mut gzip = Gzip::default();
    let input = MetricsInput::default();
    // the first reading opens and keeps the files; measure the steady state
    for _ in 0..5 {
        let set = agent.metrics(&input);
        let _ = gzip.compress(&exposition::render(set, Format::OpenMetrics));
    }
    let (mut read_ns, mut render_ns, mut gzip_ns) = (0u128, 0u128, 0u128);
    let (mut read_allocs, mut render_allocs, mut gzip_allocs) = (0u64, 0u64, 0u64);
    let (mut series, mut text_len, mut gz_len) = (0, 0, 0);
    let mut miniz = flate2::Compress::new(flate2::Compression::fast(), false);
    let (mut miniz_ns, mut miniz_len) = (0u128, 0);
    let pause = std::time::Duration::from_millis(
        std::env::args()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or(0),
    );
    for _ in 0..rounds {
        // a scraper's pause between scrapes leaves the caches cold, as in the daemon
        std::thread::sleep(pause);
        let (a0, t0) = (ALLOCATIONS.load(Ordering::Relaxed), Instant::now());
        let set = agent.metrics(&input);
        let (a1, t1) = (ALLOCATIONS.load(Ordering::Relaxed), Instant::now());
        let text = exposition::render(set, Format::OpenMetrics);
        let (a2, t2) = (ALLOCATIONS.load(Ordering::Relaxed), Instant::now());
        let gz = gzip.compress(&text);
        let (a3, t3) = (ALLOCATIONS.load(Ordering::Relaxed), Instant::now());
        // the deflate this replaced, on the same text, for comparison
        let mut packed = Vec::with_capacity(text.len() / 4);
        miniz.reset();
        let t4 = Instant::now();
        let _ = miniz.compress_vec(&text, &mut packed, flate2::FlushCompress::Finish);
        miniz_ns += t4.elapsed().as_nanos();
        miniz_len = packed.len();
        read_ns += (t1 - t0).as_nanos();
        render_ns += (t2 - t1).as_nanos();
        gzip_ns += (t3 - t2).as_nanos();
        read_allocs += a1 - a0;
        render_allocs += a2 - a1;
        gzip_allocs += a3 - a2;
        series = set.series_count();
        text_len = text.len();
        gz_len = gz.len();
    }
    let n = u128::from(rounds);
    let per = |ns: u128| ns as f64 / n as f64 / 1000.0;
    let r = u64::from(rounds);
    println!("{rounds} rounds, {series} series, {text_len} bytes, {gz_len} gzipped");
    println!(
        "reading   {:7.1} µs  {:6} allocations",
        per(read_ns),
        read_allocs / r
    );
    println!(
        "rendering {:7.1} µs  {:6} allocations",
        per(render_ns),
        render_allocs / r
    );
    println!(
        "gzip      {:7.1} µs  {:6} allocations",
        per(gzip_ns),
        gzip_allocs / r
    );
    println!(
        "(miniz_oxide level 1 on the same text: {:.1} µs, {miniz_len} bytes of deflate)",
        per(miniz_ns)
    );
}
