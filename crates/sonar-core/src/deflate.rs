//! A fast DEFLATE encoder (RFC 1951) for /metrics answers: greedy LZ77 over a single-probe hash
//! of 4 bytes, dynamic Huffman blocks. An exposition repeats its names on every line, so one
//! probe finds nearly every match there is; miniz_oxide's level 1 spent about twice the time
//! for the same size (`cargo run --release --example metrics_cost`), and gzip was a tenth of a
//! scrape's CPU.
//!
//! Every output is a valid stream for any input (each Huffman code is complete, no distance
//! reaches before the input or beyond 32 KiB); the tests decode it with an independent inflater.

/// How far back a match may reach.
const WINDOW: usize = 32 * 1024;
/// The shortest match looked for (the hash covers 4 bytes; DEFLATE's minimum is 3).
const MIN_MATCH: usize = 4;
const MAX_MATCH: usize = 258;
const HASH_BITS: u32 = 14;
/// Tokens per block: a block's Huffman codes fit the text they code, and the token buffer stays
/// small whatever the input's size.
const BLOCK_TOKENS: usize = 16 * 1024;
/// The positions of a match that are hashed: only its last few. Hashing every one found a few
/// more matches (0.5% smaller on an exposition) for 13% more time.
const HASH_TAIL: usize = 3;

const LITLEN_SYMBOLS: usize = 286;
const DIST_SYMBOLS: usize = 30;
const END_OF_BLOCK: usize = 256;
/// A match token: this bit, the length less 3 (8 bits) at bit 16, the distance less 1 below.
const MATCH: u32 = 1 << 31;

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order the code-length code's lengths are sent in.
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Length less 3 → length code less 257.
const LEN_CODE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut code = 0;
    while code < 28 {
        let mut l = LEN_BASE[code] as usize;
        while l < LEN_BASE[code] as usize + (1 << LEN_EXTRA[code]) {
            table[l - 3] = code as u8;
            l += 1;
        }
        code += 1;
    }
    // 258 has its own code (284's extra bits could say it too, but the format gives it 285)
    table[255] = 28;
    table
};

/// Distance less 1 → distance code: below 256 directly, above by the distance's bits 7 and up.
const DIST_CODE_LOW: [u8; 256] = dist_codes(0);
const DIST_CODE_HIGH: [u8; 256] = dist_codes(7);

const fn dist_codes(shift: u32) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let d = (i << shift) as u32; // distance less 1
        let mut code = 29;
        while DIST_BASE[code] as u32 - 1 > d {
            code -= 1;
        }
        table[i] = code as u8;
        i += 1;
    }
    table
}

fn dist_code(d: u32) -> usize {
    if d < 256 {
        DIST_CODE_LOW[d as usize] as usize
    } else {
        DIST_CODE_HIGH[(d >> 7) as usize & 255] as usize
    }
}

/// Bits out, least significant first, as DEFLATE packs them.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter<'_> {
    /// `count` ≤ 32 bits of `bits` (fewer than 32 are pending before, so the sum fits).
    #[inline]
    fn put(&mut self, bits: u32, count: u32) {
        self.acc |= u64::from(bits) << self.n;
        self.n += count;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// The last bits, the final byte padded with zeros.
    fn finish(mut self) {
        while self.n > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
    }
}

/// A Huffman code of `N` symbols: each symbol's length and its code, bit-reversed for output.
struct Code<const N: usize> {
    lengths: [u8; N],
    codes: [u16; N],
}

impl<const N: usize> Code<N> {
    /// The code for these counts, no length over `limit`. At least two symbols are coded (a
    /// count of 0 is raised to 1 where needed), so the code is always complete: the strictest
    /// inflaters refuse an incomplete one.
    fn build(counts: &mut [u32; N], limit: u8) -> Self {
        let used = counts.iter().filter(|&&c| c > 0).count();
        for c in counts
            .iter_mut()
            .filter(|c| **c == 0)
            .take(2usize.saturating_sub(used))
        {
            *c = 1;
        }
        let mut lengths = [0u8; N];
        huffman_lengths(counts, limit, &mut lengths);
        let codes = canonical_codes(&lengths);
        Code { lengths, codes }
    }

    #[inline]
    fn put(&self, bits: &mut BitWriter<'_>, symbol: usize) {
        bits.put(
            u32::from(self.codes[symbol]),
            u32::from(self.lengths[symbol]),
        );
    }
}

/// Huffman code lengths of `counts` (≥ 2 of them above 0), none over `limit`: the optimal tree,
/// then, if it is too deep, the deepest leaves moved up and the lengths handed out again by
/// count (the rarest symbols get the longest).
fn huffman_lengths<const N: usize>(counts: &[u32; N], limit: u8, lengths: &mut [u8; N]) {
    // leaves sorted by count; internal nodes are made in order of weight, so two queues suffice
    // (fixed arrays: no allocation per block)
    let mut leaves = [(0u32, 0u16); LITLEN_SYMBOLS];
    let mut n = 0;
    for (symbol, &count) in counts.iter().enumerate() {
        if count > 0 && n < leaves.len() {
            leaves[n] = (count, symbol as u16);
            n += 1;
        }
    }
    let leaves = &mut leaves[..n];
    leaves.sort_unstable();
    if n < 2 {
        for &(_, s) in leaves.iter() {
            lengths[usize::from(s)] = 1;
        }
        return;
    }
    // nodes 0..n are the leaves, n.. the internal nodes; parent[i] is i's parent
    let mut weight = [0u64; 2 * LITLEN_SYMBOLS];
    let mut parent = [0u16; 2 * LITLEN_SYMBOLS];
    for (w, &(c, _)) in weight.iter_mut().zip(leaves.iter()) {
        *w = u64::from(c);
    }
    let (mut next_leaf, mut next_inner) = (0, n);
    for made in n..2 * n - 1 {
        let mut pick = || {
            let take_leaf =
                next_leaf < n && (next_inner >= made || weight[next_leaf] <= weight[next_inner]);
            if take_leaf {
                next_leaf += 1;
                next_leaf - 1
            } else {
                next_inner += 1;
                next_inner - 1
            }
        };
        let (a, b) = (pick(), pick());
        weight[made] = weight[a] + weight[b];
        parent[a] = made as u16;
        parent[b] = made as u16;
    }
    // depths from the root (the last node made) down: a parent is always made after its children
    let mut depth = [0u32; 2 * LITLEN_SYMBOLS];
    for node in (0..2 * n - 2).rev() {
        depth[node] = depth[usize::from(parent[node])] + 1;
    }
    let limit = u32::from(limit);
    let mut per_length = [0u32; 33];
    for &d in &depth[..n] {
        per_length[d.min(limit) as usize] += 1;
    }
    // clamping made the code over-full: Kraft's sum, in units of 2^-limit, is brought back to 1
    // by moving a leaf from the longest length below the limit one level down (it and a
    // clamped leaf become siblings there)
    let mut kraft: u64 = (1..=limit)
        .map(|l| u64::from(per_length[l as usize]) << (limit - l))
        .sum();
    while kraft > 1 << limit && per_length[limit as usize] > 0 {
        per_length[limit as usize] -= 1;
        if let Some(l) = (1..limit).rev().find(|&l| per_length[l as usize] > 0) {
            per_length[l as usize] -= 1;
            per_length[l as usize + 1] += 2;
        }
        kraft -= 1;
    }
    // longest lengths to the rarest leaves (the leaves are in count order)
    let mut leaf = 0;
    for l in (1..=limit).rev() {
        for _ in 0..per_length[l as usize] {
            if let Some(&(_, s)) = leaves.get(leaf) {
                lengths[usize::from(s)] = l as u8;
            }
            leaf += 1;
        }
    }
}

/// RFC 1951 §3.2.2's canonical codes of these lengths, bit-reversed (sent first bit first).
fn canonical_codes<const N: usize>(lengths: &[u8; N]) -> [u16; N] {
    let mut per_length = [0u16; 16];
    for &l in lengths {
        per_length[usize::from(l).min(15)] += 1;
    }
    per_length[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    for bits in 1..16 {
        code = (code + per_length[bits - 1]) << 1;
        next[bits] = code;
    }
    let mut codes = [0u16; N];
    for (symbol, &l) in lengths.iter().enumerate() {
        if l > 0 && l < 16 {
            let c = next[usize::from(l)];
            next[usize::from(l)] = c.wrapping_add(1);
            codes[symbol] = c.reverse_bits() >> (16 - u32::from(l));
        }
    }
    codes
}

/// The kept state of the encoder (the hash table, the token buffer), reused between answers.
pub struct Deflate {
    /// hash of 4 bytes → the last position with it, plus 1 (0: none this call)
    table: Vec<u32>,
    tokens: Vec<u32>,
    litlen_counts: [u32; LITLEN_SYMBOLS],
    dist_counts: [u32; DIST_SYMBOLS],
}

impl Default for Deflate {
    fn default() -> Self {
        Deflate {
            table: vec![0; 1 << HASH_BITS],
            tokens: Vec::with_capacity(BLOCK_TOKENS),
            litlen_counts: [0; LITLEN_SYMBOLS],
            dist_counts: [0; DIST_SYMBOLS],
        }
    }
}

#[inline]
fn read_u32(input: &[u8], at: usize) -> u32 {
    match input.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[inline]
fn hash(four: u32) -> usize {
    (four.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// How many bytes at `a` and `b` (`a` < `b`) agree, up to `max`.
#[inline]
fn common_prefix(input: &[u8], a: usize, b: usize, max: usize) -> usize {
    let (x, y) = (&input[a..], &input[b..b + max]);
    let mut n = 0;
    while n + 8 <= max {
        let (Some(p), Some(q)) = (x.get(n..n + 8), y.get(n..n + 8)) else {
            break;
        };
        let diff = u64::from_le_bytes(p.try_into().unwrap_or([0; 8]))
            ^ u64::from_le_bytes(q.try_into().unwrap_or([0; 8]));
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < max && x[n] == y[n] {
        n += 1;
    }
    n
}

impl Deflate {
    /// `input` as one complete DEFLATE stream, appended to `out`.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.table.fill(0);
        self.tokens.clear();
        let mut bits = BitWriter { out, acc: 0, n: 0 };
        let mut i = 0;
        while i < input.len() {
            i += match self.match_at(input, i) {
                Some(from) => {
                    let len = self.push_match_from(input, from, i);
                    // the match's last positions seed the next lines' matches
                    let end = i + len;
                    for p in end - HASH_TAIL..end.min(input.len().saturating_sub(MIN_MATCH - 1)) {
                        self.table[hash(read_u32(input, p))] = (p + 1) as u32;
                    }
                    len
                }
                None => {
                    self.push_literal(input[i]);
                    1
                }
            };
            if self.tokens.len() >= BLOCK_TOKENS {
                self.flush_block(&mut bits, false);
            }
        }
        self.flush_block(&mut bits, true);
        bits.finish();
    }

    /// Where the 4 bytes at `i` were last seen within the window, if they were; `i` becomes the
    /// place its hash remembers. Positions past u32 (a 4 GiB input) are not hashed: literals.
    #[inline]
    fn match_at(&mut self, input: &[u8], i: usize) -> Option<usize> {
        if i + MIN_MATCH > input.len() || i >= u32::MAX as usize - 1 {
            return None;
        }
        let four = read_u32(input, i);
        let slot = hash(four);
        let candidate = self.table[slot] as usize;
        self.table[slot] = (i + 1) as u32;
        let from = candidate.checked_sub(1)?;
        (i - from <= WINDOW && read_u32(input, from) == four).then_some(from)
    }

    /// The match of `i` against `from` (its first MIN_MATCH bytes agree), as long as it goes;
    /// its length.
    #[inline]
    fn push_match_from(&mut self, input: &[u8], from: usize, i: usize) -> usize {
        let most = (input.len() - i).min(MAX_MATCH) - MIN_MATCH;
        let len = MIN_MATCH + common_prefix(input, from + MIN_MATCH, i + MIN_MATCH, most);
        self.push_match(len, i - from);
        len
    }

    #[inline]
    fn push_literal(&mut self, byte: u8) {
        self.tokens.push(u32::from(byte));
        self.litlen_counts[usize::from(byte)] += 1;
    }

    #[inline]
    fn push_match(&mut self, len: usize, dist: usize) {
        let (l, d) = ((len - 3) as u32, (dist - 1) as u32);
        self.tokens.push(MATCH | (l << 16) | d);
        self.litlen_counts[257 + usize::from(LEN_CODE[l as usize])] += 1;
        self.dist_counts[dist_code(d)] += 1;
    }

    /// The buffered tokens as one dynamic-Huffman block.
    fn flush_block(&mut self, bits: &mut BitWriter<'_>, last: bool) {
        self.litlen_counts[END_OF_BLOCK] += 1;
        let litlen = Code::build(&mut self.litlen_counts, 15);
        let dist = Code::build(&mut self.dist_counts, 15);
        bits.put(u32::from(last), 1);
        bits.put(2, 2); // dynamic Huffman codes
        write_code_lengths(bits, &litlen.lengths, &dist.lengths);
        // each length's code and extra bits as one put (a length's bits depend on it alone)
        let mut length_bits = [(0u32, 0u32); 256];
        for (l, slot) in length_bits.iter_mut().enumerate() {
            let code = usize::from(LEN_CODE[l]);
            let (c, n) = (
                u32::from(litlen.codes[257 + code]),
                u32::from(litlen.lengths[257 + code]),
            );
            *slot = (
                c | ((l as u32 + 3 - u32::from(LEN_BASE[code])) << n),
                n + u32::from(LEN_EXTRA[code]),
            );
        }
        for &token in &self.tokens {
            if token & MATCH == 0 {
                litlen.put(bits, token as usize);
                continue;
            }
            let (c, n) = length_bits[((token >> 16) & 0xff) as usize];
            bits.put(c, n);
            let d = token & 0xffff;
            let dcode = dist_code(d);
            let n = u32::from(dist.lengths[dcode]);
            bits.put(
                u32::from(dist.codes[dcode]) | ((d + 1 - u32::from(DIST_BASE[dcode])) << n),
                n + u32::from(DIST_EXTRA[dcode]),
            );
        }
        litlen.put(bits, END_OF_BLOCK);
        self.tokens.clear();
        self.litlen_counts = [0; LITLEN_SYMBOLS];
        self.dist_counts = [0; DIST_SYMBOLS];
    }
}

/// The run-length coded lengths of one block header: at most one entry per length, so a fixed
/// array.
struct RunList {
    items: [(u8, u8); LITLEN_SYMBOLS + DIST_SYMBOLS],
    len: usize,
}

impl Default for RunList {
    fn default() -> Self {
        RunList {
            items: [(0, 0); LITLEN_SYMBOLS + DIST_SYMBOLS],
            len: 0,
        }
    }
}

impl RunList {
    fn push(&mut self, item: (u8, u8)) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = item;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[(u8, u8)] {
        &self.items[..self.len]
    }
}

/// A dynamic block's header after its type: HLIT, HDIST, HCLEN, the code-length code, then both
/// codes' lengths run-length coded with it.
fn write_code_lengths(
    bits: &mut BitWriter<'_>,
    litlen: &[u8; LITLEN_SYMBOLS],
    dist: &[u8; DIST_SYMBOLS],
) {
    let hlit = 257
        + litlen[257..]
            .iter()
            .rposition(|&l| l > 0)
            .map_or(0, |p| p + 1);
    let hdist = 1 + dist[1..].iter().rposition(|&l| l > 0).map_or(0, |p| p + 1);
    let mut all = [0u8; LITLEN_SYMBOLS + DIST_SYMBOLS];
    all[..hlit].copy_from_slice(&litlen[..hlit]);
    all[hlit..hlit + hdist].copy_from_slice(&dist[..hdist]);
    let all = &all[..hlit + hdist];
    // (symbol, extra bits' value): 0–15 a length, 16 the previous one 3–6 times, 17 and 18
    // zeros 3–10 and 11–138 times
    let mut runs = RunList::default();
    let mut i = 0;
    while i < all.len() {
        let l = all[i];
        let mut run = all[i..].iter().take_while(|&&x| x == l).count();
        i += run;
        if l == 0 {
            while run >= 11 {
                let k = run.min(138);
                runs.push((18, (k - 11) as u8));
                run -= k;
            }
            if run >= 3 {
                runs.push((17, (run - 3) as u8));
                run = 0;
            }
        } else {
            runs.push((l, 0));
            run -= 1;
            while run >= 3 {
                let k = run.min(6);
                runs.push((16, (k - 3) as u8));
                run -= k;
            }
        }
        for _ in 0..run {
            runs.push((l, 0));
        }
    }
    let mut counts = [0u32; 19];
    for &(symbol, _) in runs.as_slice() {
        counts[usize::from(symbol)] += 1;
    }
    let clen = Code::build(&mut counts, 7);
    let hclen = 4 + CLEN_ORDER[4..]
        .iter()
        .rposition(|&s| clen.lengths[s] > 0)
        .map_or(0, |p| p + 1);
    bits.put((hlit - 257) as u32, 5);
    bits.put((hdist - 1) as u32, 5);
    bits.put((hclen - 4) as u32, 4);
    for &symbol in &CLEN_ORDER[..hclen] {
        bits.put(u32::from(clen.lengths[symbol]), 3);
    }
    for &(symbol, extra) in runs.as_slice() {
        clen.put(bits, usize::from(symbol));
        match symbol {
            16 => bits.put(u32::from(extra), 2),
            17 => bits.put(u32::from(extra), 3),
            18 => bits.put(u32::from(extra), 7),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate(stream: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(stream)
            .read_to_end(&mut out)
            .expect("a valid DEFLATE stream");
        out
    }

    fn round_trip(input: &[u8]) -> usize {
        let mut deflate = Deflate::default();
        let mut stream = Vec::new();
        deflate.compress(input, &mut stream);
        assert_eq!(inflate(&stream), input, "{} bytes", input.len());
        stream.len()
    }

    /// xorshift: inputs the tests can regenerate, no crate needed
    fn noise(seed: u64, len: usize, alphabet: u8) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % u64::from(alphabet)) as u8
            })
            .collect()
    }

    #[test]
    fn the_tables_agree_with_rfc_1951() {
        assert_eq!(LEN_CODE[0], 0); // 3
        assert_eq!(LEN_CODE[10 - 3], 7);
        assert_eq!(LEN_CODE[11 - 3], 8);
        assert_eq!(LEN_CODE[257 - 3], 27); // 284 covers 227–257
        assert_eq!(LEN_CODE[258 - 3], 28); // 285
        assert_eq!(dist_code(0), 0); // 1
        assert_eq!(dist_code(4), 4); // 5–6
        assert_eq!(dist_code(255), 15); // 256 in 193–256
        assert_eq!(dist_code(256), 16); // 257
        assert_eq!(dist_code(32767), 29); // 32768
        for d in 0..32768u32 {
            let c = dist_code(d);
            let base = u32::from(DIST_BASE[c]) - 1;
            assert!(
                d >= base && d - base < 1 << DIST_EXTRA[c],
                "distance {}",
                d + 1
            );
        }
    }

    #[test]
    fn empty_and_tiny_inputs_are_valid_streams() {
        for input in [&b""[..], b"a", b"ab", b"abc", b"abcd", b"aaaa", b"aaaaa"] {
            round_trip(input);
        }
    }

    #[test]
    fn runs_use_overlapping_matches() {
        let input = vec![b'x'; 100_000];
        assert!(round_trip(&input) < 1_000);
    }

    #[test]
    fn incompressible_input_grows_only_a_little() {
        let input = noise(7, 200_000, 255);
        let size = round_trip(&input);
        assert!(size < input.len() + input.len() / 50, "{size}");
    }

    #[test]
    fn random_inputs_of_many_sizes_and_alphabets_round_trip() {
        for (seed, len) in (1..60u64).zip(
            [
                0usize, 1, 3, 4, 5, 17, 258, 259, 1000, 4096, 32768, 32769, 70_000,
            ]
            .iter()
            .cycle(),
        ) {
            for alphabet in [2u8, 4, 16, 255] {
                round_trip(&noise(seed, *len, alphabet));
            }
        }
    }

    #[test]
    fn repeats_farther_back_than_the_window_are_not_referenced() {
        // the same 40 KiB twice: the second copy's start is 40 KiB back, out of reach
        let part = noise(3, 40 * 1024, 255);
        let input = [part.clone(), part].concat();
        round_trip(&input);
    }

    #[test]
    fn many_blocks_round_trip() {
        // more tokens than one block holds, text-like
        let mut input = Vec::new();
        for i in 0..50_000 {
            input.extend_from_slice(
                format!(
                    "node_cpu_seconds_total{{cpu=\"{i}\",mode=\"idle\"}} {}\n",
                    i * 7919
                )
                .as_bytes(),
            );
        }
        let size = round_trip(&input);
        assert!(size * 5 < input.len(), "{size} of {}", input.len());
    }

    #[test]
    fn skewed_counts_are_limited_to_15_bits() {
        // Fibonacci counts make the optimal tree as deep as there are symbols
        let mut counts = [0u32; LITLEN_SYMBOLS];
        let (mut a, mut b) = (1u32, 1u32);
        for c in counts.iter_mut().take(30) {
            *c = a;
            (a, b) = (b, a.saturating_add(b));
        }
        let code = Code::build(&mut counts, 15);
        assert!(code.lengths.iter().all(|&l| l <= 15));
        let kraft: u64 = code
            .lengths
            .iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1u64 << (15 - l))
            .sum();
        assert_eq!(kraft, 1 << 15, "a complete code");
        // and a stream whose literals have such counts decodes
        let mut input = Vec::new();
        let (mut a, mut b) = (1usize, 1usize);
        for byte in 0..24u8 {
            // spread out so that they stay literals
            input.extend((0..a).map(|k| {
                if k % 2 == 0 {
                    byte
                } else {
                    200 + (k % 7) as u8
                }
            }));
            (a, b) = (b, a + b);
        }
        round_trip(&input);
    }

    #[test]
    fn one_symbol_alone_still_makes_a_complete_code() {
        let mut counts = [0u32; DIST_SYMBOLS];
        counts[5] = 9;
        let code = Code::build(&mut counts, 15);
        assert_eq!(code.lengths.iter().filter(|&&l| l > 0).count(), 2);
        assert!(code.lengths.iter().all(|&l| l <= 1));
    }
}
