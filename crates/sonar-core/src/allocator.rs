//! The C allocator's arenas. glibc gives every thread that allocates its own arena (up to eight
//! per core), each holding on to freed pages: for a daemon whose threads (libuv's pool, V8's
//! workers, the collectors') each touch a little, that is RSS for nothing. One shared arena costs
//! nothing here, since nothing allocates in parallel at any rate that would contend
//! (`npm run bench:footprint`: −0.3 MiB with MALLOC_ARENA_MAX=1).

/// Limits glibc to `max` arenas for threads that have not allocated yet (the earlier, the more
/// it saves). Returns whether the allocator took it; other C libraries (musl) have no arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_arenas(max: u8) -> bool {
    // SAFETY: mallopt only sets a tuning parameter of the allocator; any value is accepted.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, i32::from(max.max(1))) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas(_max: u8) -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_takes_an_arena_limit() {
        assert!(super::limit_arenas(1));
    }
}
