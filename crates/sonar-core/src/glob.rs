//! Go `path.Match` globs: the one implementation behind NICS, SENSORS, SERVICE_PATTERNS and (through
//! the binding) EXCLUDE_CONTAINERS.

/// Go `path.Match`: `*` matches any run of non-`/` characters, `?` one non-`/` character,
/// `[...]` a class (ranges, `^` negation), `\` escapes. A malformed pattern matches nothing.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    if !is_valid(&p) {
        return false;
    }
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n).unwrap_or(false)
}

/// Whether Go's `path.Match` accepts the pattern (no `ErrBadPattern`): every class closed and
/// non-empty, `-` and `]` escaped where they would be a range's end, no trailing `\`.
pub fn glob_is_valid(pattern: &str) -> bool {
    is_valid(&pattern.chars().collect::<Vec<char>>())
}

fn is_valid(p: &[char]) -> bool {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 >= p.len() => return false,
            '\\' => i += 2,
            '[' => match class_end(p, i + 1) {
                Some(end) => i = end,
                None => return false,
            },
            _ => i += 1,
        }
    }
    true
}

/// The index after the `]` closing the class whose body starts at `i`, as Go parses it.
fn class_end(p: &[char], mut i: usize) -> Option<usize> {
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut ranges = 0;
    loop {
        if p.get(i) == Some(&']') && ranges > 0 {
            return Some(i + 1);
        }
        i = class_char_end(p, i)?;
        if p.get(i) == Some(&'-') {
            i = class_char_end(p, i + 1)?;
        }
        ranges += 1;
    }
}

/// Go's `getEsc`: one possibly escaped class character, never an unescaped `-` or `]`, and the
/// class must go on after it.
fn class_char_end(p: &[char], mut i: usize) -> Option<usize> {
    match p.get(i)? {
        '-' | ']' => return None,
        '\\' => i += 1,
        _ => {}
    }
    p.get(i)?;
    i += 1;
    (i < p.len()).then_some(i)
}

fn match_from(p: &[char], n: &[char]) -> Option<bool> {
    let (mut pi, mut ni) = (0usize, 0usize);
    // Backtracking point for the last `*`: (pattern index after it, name index it resumes from).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi + 1, ni));
                    pi += 1;
                    continue;
                }
                '?' if ni < n.len() && n[ni] != '/' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' if ni < n.len() => {
                    let (matched, next) = match_class(p, pi, n[ni])?;
                    if matched && n[ni] != '/' {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                }
                '\\' => {
                    let c = *p.get(pi + 1)?;
                    if ni < n.len() && n[ni] == c {
                        pi += 2;
                        ni += 1;
                        continue;
                    }
                }
                c if c != '?' && c != '[' && ni < n.len() && n[ni] == c => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        } else if ni == n.len() {
            return Some(true);
        }
        // Mismatch: let the last `*` swallow one more (non-separator) character.
        match star {
            Some((sp, sn)) if sn < n.len() && n[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp;
                ni = sn + 1;
            }
            _ => return Some(false),
        }
    }
}

/// Matches `c` against the class starting at `p[start] == '['`; returns (matched, index after `]`).
fn match_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = p.get(i) == Some(&'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = if ch == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            ch
        };
        i += 1;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            let mut h = *p.get(i + 1)?;
            i += 2;
            if h == '\\' {
                h = *p.get(i)?;
                i += 1;
            }
            h
        } else {
            lo
        };
        if (lo..=hi).contains(&c) {
            matched = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_follow_go_path_match() {
        assert!(glob_match("eth*", "eth0"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("*", "a/b"));
        assert!(glob_match("en?1", "enp1"));
        assert!(glob_match("wl[a-z]*", "wlan0"));
        assert!(!glob_match("wl[^a-z]*", "wlan0"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("coretemp_*", "coretemp_core_0"));
        assert!(!glob_match("[", "["));
        assert!(glob_match("\\*", "*"));
    }

    #[test]
    fn malformed_patterns_are_go_err_bad_pattern() {
        for bad in ["[", "x\\", "[]a]", "[a", "[a-", "[-a]", "[^]"] {
            assert!(!glob_is_valid(bad), "{bad}");
            assert!(!glob_match(bad, "a"), "{bad}");
        }
        for good in ["[\\]]", "[a-c]x", "[^a-c]", "\\*", "[z-a]", "a*b?c"] {
            assert!(glob_is_valid(good), "{good}");
        }
        assert!(glob_match("[\\]]", "]"));
    }
}
