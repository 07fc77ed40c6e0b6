//! RFC 5424 STRUCTURED-DATA: `[id name="value" ...][id2 ...]`, or `-`.
//!
//! Validated once when the header is parsed ([`validate`]), then walked again without
//! allocation when the document is written ([`SdElement::iter`]). Values keep their
//! escapes (`\"`, `\\`, `\]`); [`unescape_into`] removes them while copying.

/// One `[SD-ID params...]` element, borrowed from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdElement<'a> {
    pub id: &'a [u8],
    pub params: SdParams<'a>,
}

/// The `name="value"` pairs of one element, still escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdParams<'a> {
    raw: &'a [u8],
}

impl<'a> SdElement<'a> {
    /// Walks validated structured data (the slice [`validate`] accepted).
    pub fn iter(data: &'a [u8]) -> impl Iterator<Item = SdElement<'a>> + 'a {
        let mut rest = data;
        std::iter::from_fn(move || {
            let (element, after) = element(rest).ok()?;
            rest = after;
            Some(element)
        })
    }
}

impl<'a> Iterator for SdParams<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, value, rest) = param(self.raw).ok()?;
        self.raw = rest;
        Some((name, value))
    }
}

/// Checks structured data at the start of `input`; returns (data, rest) or the offset
/// within `input` where it went wrong.
pub fn validate(input: &[u8]) -> Result<(&[u8], &[u8]), (usize, &'static str)> {
    let mut rest = input;
    if rest.first() != Some(&b'[') {
        return Err((0, "structured data: '[' or '-'"));
    }
    while rest.first() == Some(&b'[') {
        let (element, after) =
            element(rest).map_err(|(at, why)| (input.len() - rest.len() + at, why))?;
        let mut params = element.params;
        while params.next().is_some() {}
        rest = after;
    }
    Ok((&input[..input.len() - rest.len()], rest))
}

type Failure = (usize, &'static str);

fn element(input: &[u8]) -> Result<(SdElement<'_>, &[u8]), Failure> {
    if input.first() != Some(&b'[') {
        return Err((0, "structured data: '['"));
    }
    let id_len = sd_name_len(&input[1..]);
    if id_len == 0 {
        return Err((1, "structured data: an SD-ID"));
    }
    let id = &input[1..1 + id_len];
    let mut at = 1 + id_len;
    let params_start = at;
    loop {
        match input.get(at) {
            Some(b']') => break,
            Some(b' ') => {
                let (_, _, rest) = param(&input[at..]).map_err(|(o, why)| (at + o, why))?;
                at = input.len() - rest.len();
            }
            _ => return Err((at, "structured data: ' ' or ']'")),
        }
    }
    let params = SdParams {
        raw: &input[params_start..at],
    };
    Ok((SdElement { id, params }, &input[at + 1..]))
}

/// ` name="value"`: returns name, escaped value and the rest.
fn param(input: &[u8]) -> Result<(&[u8], &[u8], &[u8]), Failure> {
    if input.first() != Some(&b' ') {
        return Err((0, "structured data: ' '"));
    }
    let name_len = sd_name_len(&input[1..]);
    if name_len == 0 {
        return Err((1, "structured data: a PARAM-NAME"));
    }
    let name = &input[1..1 + name_len];
    let mut at = 1 + name_len;
    if input.get(at..at + 2) != Some(b"=\"") {
        return Err((at, "structured data: '=\"'"));
    }
    at += 2;
    let value_start = at;
    loop {
        match input.get(at) {
            Some(b'\\') => at += 2,
            Some(b'"') => break,
            Some(_) => at += 1,
            None => return Err((value_start, "structured data: a closing '\"'")),
        }
    }
    Ok((name, &input[value_start..at], &input[at + 1..]))
}

/// SD-NAME: 1–32 printable ASCII except `=`, space, `]` and `"`.
fn sd_name_len(input: &[u8]) -> usize {
    input
        .iter()
        .take(32)
        .take_while(|b| b.is_ascii_graphic() && !matches!(b, b'=' | b']' | b'"'))
        .count()
}

/// Copies an escaped PARAM-VALUE, dropping the backslash of `\"`, `\\` and `\]`.
pub fn unescape_into(value: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'\\' && matches!(value.get(i + 1), Some(b'"' | b'\\' | b']')) {
            i += 1;
        }
        out.push(value[i]);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_and_params() {
        let data = br#"[exampleSDID@32473 iut="3" eventSource="App\"x\]"][b@1] msg"#;
        let (sd, rest) = validate(data).unwrap();
        assert_eq!(rest, b" msg");
        let elements: Vec<_> = SdElement::iter(sd).collect();
        assert_eq!(elements.len(), 2);
        assert_eq!(elements[0].id, b"exampleSDID@32473");
        let params: Vec<_> = elements[0].params.collect();
        assert_eq!(params[1].0, b"eventSource");
        let mut out = Vec::new();
        unescape_into(params[1].1, &mut out);
        assert_eq!(out, br#"App"x]"#);
    }

    #[test]
    fn malformed_structured_data_reports_where() {
        assert_eq!(validate(br#"[id a="1"#).unwrap_err().0, 7);
        assert_eq!(validate(b"[id a=1]").unwrap_err().0, 5);
        assert_eq!(validate(b"[]").unwrap_err().0, 1);
    }
}
