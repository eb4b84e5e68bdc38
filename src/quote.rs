//! The one place where words become shell text. shimctl never hands a shell string to
//! anything it runs (Lima quotes the guest command itself); this is for text a person reads
//! or pastes (`shimctl explain`, suggested commands in messages), for knowing how long
//! Lima's own quoting makes the guest command, and for yq strings.
//!
//! What is hand-written and why: `shell-words` quotes printable UTF-8 text for display
//! (`sh_quote` uses it), but it takes `&str` only and writes control characters raw, so
//! words with non-UTF-8 bytes or control characters get `$'...'` here; Lima's own quoting
//! (`lima_quote`) must match Lima byte for byte, which `shell-words` does not (another
//! escape for `'` and another plain set); yq strings are not shell at all.

/// Bytes a POSIX shell never treats specially (the same set as Python's `shlex.quote` and
/// Lima's quoting).
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b)
}

/// Quotes one word so that bash, zsh and POSIX sh read it back as exactly these bytes:
/// as is when plain, in single quotes when printable text, and as `$'...'` with escapes when
/// it holds control characters or bytes that are not UTF-8 (so the output stays one line).
pub fn sh_quote(word: &[u8]) -> String {
    if word.is_empty() {
        return "''".into();
    }
    if word.iter().all(|&b| is_plain(b)) {
        return String::from_utf8(word.to_vec()).expect("plain bytes are ASCII");
    }
    match std::str::from_utf8(word) {
        Ok(text) if !text.chars().any(char::is_control) => shell_words::quote(text).into_owned(),
        _ => dollar_quote(word),
    }
}

/// One word quoted the way Lima quotes each word of the guest command: POSIX single quotes
/// unless every byte is in `[A-Za-z0-9_@%+=:,./-]`, `''` for the empty word, and `'` written
/// as `'"'"'` (alessio/shellescape's Quote, which Lima's cmd/limactl/shell.go uses; the
/// same as Python's shlex.quote).
pub fn lima_quote(word: &[u8]) -> Vec<u8> {
    if word.is_empty() {
        return b"''".to_vec();
    }
    if word.iter().all(|&b| is_plain(b)) {
        return word.to_vec();
    }
    let mut out = Vec::with_capacity(word.len() + 2);
    out.push(b'\'');
    for &b in word {
        if b == b'\'' {
            out.extend_from_slice(b"'\"'\"'");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

fn dollar_quote(word: &[u8]) -> String {
    let mut out = String::from("$'");
    for chunk in word.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('\'');
    out
}

/// One word for fish: single quotes, in which fish knows only `\\` and `\'`. Text with
/// control characters has no single-quoted form there (None).
pub fn fish_quote(text: &str) -> Option<String> {
    if text.chars().any(char::is_control) {
        return None;
    }
    Some(format!(
        "'{}'",
        text.replace('\\', "\\\\").replace('\'', "\\'")
    ))
}

/// `NAME=value` as a shell reads an assignment: the name bare (quoting it would turn the
/// word into a command name), the value quoted. `name` must be a valid variable name.
pub fn sh_assignment(name: &str, value: &[u8]) -> String {
    debug_assert!(crate::env_policy::valid_env_name(name));
    format!("{name}={}", sh_quote(value))
}

/// A string for a yq expression (`limactl edit --set`), written so that no escape rule is
/// involved: `("BASE64" | @base64d)`. yq's own string literals have escapes whose meaning
/// has changed between versions (`\\(` is kept for string interpolation; see
/// processEscapeCharacters in mikefarah/yq pkg/yqlib/lib.go), and Lima 2.1+ disables
/// `strenv()` for `--set` (pkg/yqutil/yqutil.go: DisableEnvOps). Base64's alphabet has no
/// quote or backslash, and `@base64d` (pkg/yqlib/lexer_participle.go) is a decoding
/// operator, not a file or env one. Text with control characters is refused (None): no
/// mount path needs them, and they would make Lima's own messages unreadable.
pub fn yq_string(text: &str) -> Option<String> {
    if text.chars().any(char::is_control) {
        return None;
    }
    Some(format!("(\"{}\" | @base64d)", base64(text.as_bytes())))
}

/// RFC 4648 base64 with padding, as yq's `@base64d` reads it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A whole command line, each word quoted.
pub fn sh_join<'a>(words: impl IntoIterator<Item = &'a [u8]>) -> String {
    words
        .into_iter()
        .map(sh_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;
    use std::process::Command;

    #[test]
    fn plain_words_stay_plain() {
        assert_eq!(sh_quote(b"claude"), "claude");
        assert_eq!(
            sh_quote(b"/a/b-c_d.e:f,g=h@i%j+k"),
            "/a/b-c_d.e:f,g=h@i%j+k"
        );
    }

    #[test]
    fn special_words_are_quoted() {
        assert_eq!(sh_quote(b""), "''");
        assert_eq!(sh_quote(b"a b"), "'a b'");
        assert_eq!(sh_quote(b"it's"), r#"'it'\''s'"#);
        assert_eq!(sh_quote(b"$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(sh_quote(b"a\nb"), r"$'a\nb'");
        assert_eq!(sh_quote(b"\xff'\\"), r"$'\xff\'\\'");
        assert_eq!(sh_quote("café".as_bytes()), "café");
    }

    /// What bash makes of the quoted words: the real check that quoting is right.
    fn through_bash(words: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let line = sh_join(words.iter().map(|w| w.as_slice()));
        let script = format!("printf '%s\\0' {line}");
        let out = Command::new("bash")
            .arg("-c")
            .arg(std::ffi::OsStr::from_bytes(script.as_bytes()))
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "bash failed on {line}");
        let mut parts: Vec<Vec<u8>> = out.stdout.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
        parts.pop();
        parts
    }

    #[test]
    fn lima_quote_is_shlex_quote() {
        assert_eq!(lima_quote(b""), b"''");
        assert_eq!(
            lima_quote(b"a-b_c/d.e:f,g=h@i%j+k"),
            b"a-b_c/d.e:f,g=h@i%j+k"
        );
        assert_eq!(lima_quote(b"a b"), b"'a b'");
        assert_eq!(lima_quote(b"it's"), br#"'it'"'"'s'"#);
        assert_eq!(lima_quote(b"\xff"), b"'\xff'");
    }

    #[test]
    fn base64_is_rfc4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn yq_strings_need_no_escapes() {
        for path in [
            "/Users/me/My Projects",
            "/a,b/c",
            r#"/it's "quoted""#,
            r"/back\slash\(x)\",
            "/日本/café",
            "/$HOME/`x`",
            "/x | .mounts += []",
        ] {
            let quoted = yq_string(path).unwrap();
            let inner = quoted
                .strip_prefix("(\"")
                .and_then(|q| q.strip_suffix("\" | @base64d)"))
                .unwrap();
            assert!(
                inner
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
                "{quoted}"
            );
            let decoded = Command::new("base64")
                .arg("-d")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(inner.as_bytes())?;
                    c.wait_with_output()
                })
                .unwrap();
            assert_eq!(String::from_utf8(decoded.stdout).unwrap(), path);
        }
        assert!(yq_string("/new\nline").is_none());
        assert!(yq_string("/tab\there").is_none());
    }

    #[test]
    fn assignments_keep_the_name_bare() {
        assert_eq!(
            sh_assignment("LIMA_SHELLENV_BLOCK", b"*"),
            "LIMA_SHELLENV_BLOCK='*'"
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("{} env", sh_assignment("X_Y", br#"{"*":"allow"}"#)))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("X_Y={\"*\":\"allow\"}\n"));
    }

    #[test]
    fn bash_reads_back_hard_words() {
        let words: Vec<Vec<u8>> = [
            &b"'"[..],
            b"\"",
            b"$HOME",
            b"`id`",
            b"*",
            b"\t",
            b"\n",
            b"-n",
            b"\\",
            b"~",
            b"#x",
            b"!",
            b"\xc3\x28",
            b"\x01",
            "日本".as_bytes(),
        ]
        .iter()
        .map(|w| w.to_vec())
        .collect();
        assert_eq!(through_bash(&words), words);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn bash_reads_back_any_word(words in proptest::collection::vec(
            proptest::collection::vec(1u8..=255, 0..12), 1..5)) {
            prop_assert_eq!(through_bash(&words), words);
        }
    }
}
