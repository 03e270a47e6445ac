//! Query strings and form bodies (`application/x-www-form-urlencoded`) whose %XX escapes do not decode
//! to UTF-8. serde_urlencoded turns such bytes into U+FFFD, which would be searched for or stored in
//! place of what was sent; the services refuse them instead, naming the parameter.

use percent_encoding::percent_decode;

/// The name of the first pair of `urlencoded` whose name or value is not UTF-8 once decoded (the
/// name itself decoded lossily, to show in a message), or `None` when every pair is UTF-8.
pub fn first_not_utf8(urlencoded: &[u8]) -> Option<String> {
    urlencoded.split(|&byte| byte == b'&').find_map(|pair| {
        let (name, value) = match pair.iter().position(|&byte| byte == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let utf8 = |part: &[u8]| percent_decode(part).decode_utf8().is_ok();
        // As serde_urlencoded names it: `+` is a space.
        let shown = || percent_decode(name).decode_utf8_lossy().replace('+', " ");
        (!utf8(name) || !utf8(value)).then(shown)
    })
}

#[cfg(test)]
mod tests {
    use super::first_not_utf8;

    #[test]
    fn names_the_first_pair_that_is_not_utf8() {
        assert_eq!(first_not_utf8(b""), None);
        assert_eq!(first_not_utf8(b"q=caf%C3%A9&sort=title&flag"), None);
        assert_eq!(
            first_not_utf8(b"sort=title&q=%FF&x=%FE").as_deref(),
            Some("q")
        );
        assert_eq!(first_not_utf8(b"%FF=1").as_deref(), Some("\u{fffd}"));
        assert_eq!(
            first_not_utf8(b"q=a=%C3").as_deref(),
            Some("q"),
            "a cut character"
        );
        assert_eq!(first_not_utf8(b"a+b=%FF").as_deref(), Some("a b"));
    }
}
