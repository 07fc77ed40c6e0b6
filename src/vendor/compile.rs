//! Turns a checked grammar file into a plan that runs as fast as a hand-written parser.
//!
//! Everything that can be decided once is decided here: target paths become field slots,
//! type names become [`Kind`]s, datetime layouts become step lists, and key or label
//! spellings go into a [`NameIndex`] so that a body value finds its field with one short
//! probe. Every refusal names the line of the grammar file it is about.

use super::grammar::{BodySpec, GrammarError, GrammarFile, Origin, Sample, SampleContext, Targets};
use super::key_order::{KeyOrder, MAX_SPELLINGS};
use crate::document::{Field, FieldType};

/// The most fields one grammar may declare (per-message state is a fixed-size array).
pub const MAX_FIELDS: usize = 48;

/// A grammar ready to run.
#[derive(Debug)]
pub struct Grammar {
    pub name: String,
    pub description: String,
    pub origin: Origin,
    pub dataset: &'static str,
    pub failure_tag: &'static str,
    pub applies_to: Vec<(Box<[u8]>, Box<[u8]>)>,
    pub body: BodyPlan,
    pub fields: Vec<FieldPlan>,
    pub samples: Vec<Sample>,
    pub sample_context: Option<SampleContext>,
}

#[derive(Debug)]
pub enum BodyPlan {
    KeyValue {
        strip_suffix: Option<u8>,
        unknown_keys_prefix: Option<Box<str>>,
        /// Key spelling → its id in `order`.
        keys: NameIndex,
        order: KeyOrder,
    },
    Groups {
        count: usize,
        labels: NameIndex,
        by_position: Vec<Option<u8>>,
        /// For each position, the labels of its field as the grammar spells them: a
        /// group whose label is one of them verbatim goes to that field without
        /// normalising the label and probing `labels` (which would find the same).
        position_labels: Vec<Vec<Box<[u8]>>>,
    },
}

#[derive(Debug)]
pub struct FieldPlan {
    /// The first target's path, named in error messages.
    pub label: &'static str,
    pub kind: Kind,
    pub targets: Vec<Target>,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Known(Field),
    /// A path outside the known fields, e.g. `huawei.custom_key`.
    Extra(Box<str>),
}

#[derive(Debug)]
pub enum Kind {
    Text,
    Lowercase,
    Ip,
    Port,
    Integer,
    EpochSeconds,
    DateTime(Vec<Layout>),
    Seconds,
    Endpoint,
    Enum(Vec<(Box<[u8]>, Box<str>)>),
}

/// One way to read a datetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Unix seconds.
    Epoch,
    Steps(Vec<Step>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Literal(u8),
}

/// Names (keys or normalised labels) → field index: an open-addressed table probed
/// by a hash of the name's first and last bytes.
///
/// A probe compares words, not bytes: a name of at most 24 bytes is fully covered
/// by its first, middle and last eight (overlapping) bytes, so two names of the same
/// length with the same three words are the same name. Longer names are compared in
/// full. This keeps the per-value lookup free of `memcmp` calls.
#[derive(Debug, Default)]
pub struct NameIndex {
    /// A power-of-two number of slots, at most half full; empty when no names.
    slots: Vec<Slot>,
}

#[derive(Debug, Default, Clone)]
struct Slot {
    /// `None` for a free slot.
    words: Option<Words>,
    name: Box<[u8]>,
    index: u8,
}

/// A name's length and its first, middle and last eight bytes; a name shorter than
/// eight bytes is packed into `head` alone (see [`short_word`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Words {
    len: usize,
    head: u64,
    middle: u64,
    tail: u64,
}

/// Names longer than this are compared byte by byte after their words match.
const MAX_WORD_COVERED_BYTES: usize = 24;

impl Words {
    #[inline]
    fn of(name: &[u8]) -> Words {
        let len = name.len();
        let (head, middle, tail) = if len >= 8 {
            let head = u64::from_le_bytes(name[..8].try_into().expect("eight bytes"));
            let tail = u64::from_le_bytes(name[len - 8..].try_into().expect("eight bytes"));
            let middle = match name.get(8..16) {
                Some(middle) => u64::from_le_bytes(middle.try_into().expect("eight bytes")),
                None => 0,
            };
            (head, middle, tail)
        } else {
            (short_word(name), 0, 0)
        };
        Words {
            len,
            head,
            middle,
            tail,
        }
    }

    #[inline]
    fn slot(&self, mask: usize) -> usize {
        let mixed = (self.head ^ self.tail.rotate_left(29) ^ self.len as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> 40) as usize & mask
    }
}

/// Packs a name of under eight bytes into one word that, for a given length, differs
/// whenever the name does: four to seven bytes as two overlapping four-byte loads, one
/// to three as their first, middle and last byte. Reading the name with fixed-size
/// loads avoids a zero-padded copy, whose byte-wise `memcpy` stores the following
/// eight-byte load had to wait for (a store-forwarding stall a quarter of `get`'s
/// samples sat on).
#[inline]
fn short_word(name: &[u8]) -> u64 {
    let len = name.len();
    if len >= 4 {
        let low = u32::from_le_bytes(name[..4].try_into().expect("four bytes"));
        let high = u32::from_le_bytes(name[len - 4..].try_into().expect("four bytes"));
        u64::from(low) | u64::from(high) << 32
    } else if len > 0 {
        u64::from(name[0]) | u64::from(name[len / 2]) << 8 | u64::from(name[len - 1]) << 16
    } else {
        0
    }
}

impl NameIndex {
    pub(super) fn insert(&mut self, name: &[u8], index: u8) -> bool {
        if self.get(name).is_some() {
            return false;
        }
        let used = self.slots.iter().filter(|s| s.words.is_some()).count();
        if (used + 1) * 2 > self.slots.len() {
            let old = std::mem::take(&mut self.slots);
            self.slots = vec![Slot::default(); (old.len() * 2).max(16)];
            for slot in old.into_iter().filter(|s| s.words.is_some()) {
                self.place(slot);
            }
        }
        self.place(Slot {
            words: Some(Words::of(name)),
            name: name.into(),
            index,
        });
        true
    }

    fn place(&mut self, slot: Slot) {
        let mask = self.slots.len() - 1;
        let mut at = slot.words.expect("an occupied slot").slot(mask);
        while self.slots[at].words.is_some() {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<u8> {
        if self.slots.is_empty() {
            return None;
        }
        let words = Words::of(name);
        let mask = self.slots.len() - 1;
        let mut at = words.slot(mask);
        loop {
            let slot = &self.slots[at];
            let found = slot.words?;
            if found == words && (words.len <= MAX_WORD_COVERED_BYTES || *slot.name == *name) {
                return Some(slot.index);
            }
            at = (at + 1) & mask;
        }
    }
}

/// Lower-cases a label and drops `_`, `-` and spaces, into `out`; `None` if too long.
pub fn normalise_label<'o>(label: &[u8], out: &'o mut [u8; 64]) -> Option<&'o [u8]> {
    let mut len = 0;
    for &b in label {
        if matches!(b, b'_' | b'-' | b' ') {
            continue;
        }
        *out.get_mut(len)? = b.to_ascii_lowercase();
        len += 1;
    }
    Some(&out[..len])
}

/// A dataset or tag name: non-empty, ASCII letters, digits, `.`, `_` and `-`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks `file` and compiles it. `source` is the file's text, for line numbers.
pub fn compile(file: GrammarFile, origin: Origin, source: &str) -> Result<Grammar, GrammarError> {
    let fail = |byte: usize, reason: String| GrammarError::at(&origin, source, byte, reason);

    if file.applies_to.is_empty() {
        return Err(fail(0, "`applies_to` lists no MODULE/BRIEF pair".into()));
    }
    if file.fields.len() > MAX_FIELDS {
        return Err(fail(
            file.fields[MAX_FIELDS].span().start,
            format!("more than {MAX_FIELDS} fields"),
        ));
    }
    // Both end up in documents as `Value::Static`, which is written unescaped.
    for (name, value) in [
        ("dataset", &file.dataset),
        ("failure_tag", &file.failure_tag),
    ] {
        if !is_plain_name(value) {
            return Err(fail(
                0,
                format!("{name} {value:?} may hold only letters, digits, '.', '_' and '-'"),
            ));
        }
    }
    if !file.failure_tag.ends_with("parse_failure") {
        return Err(fail(
            0,
            format!(
                "failure_tag {:?} must end in `parse_failure`",
                file.failure_tag
            ),
        ));
    }

    let mut fields = Vec::with_capacity(file.fields.len());
    for spanned in &file.fields {
        let at = spanned.span().start;
        let spec = spanned.get_ref();
        let targets = match &spec.target {
            Targets::One(one) => vec![target(one).map_err(|r| fail(at, r))?],
            Targets::Two(two) => vec![
                target(&two[0]).map_err(|r| fail(at, r))?,
                target(&two[1]).map_err(|r| fail(at, r))?,
            ],
        };
        let kind = kind(spec).map_err(|r| fail(at, r))?;
        check_types(&kind, &targets).map_err(|r| fail(at, r))?;
        let label = leak(match &targets[0] {
            Target::Known(field) => field.path().to_string(),
            Target::Extra(path) => path.to_string(),
        });
        fields.push(FieldPlan {
            label,
            kind,
            targets,
            required: false,
        });
    }

    for required in &file.required {
        let path = required.get_ref();
        let plan = fields
            .iter_mut()
            .find(|f| f.targets.iter().any(|t| target_path(t) == path));
        match plan {
            Some(plan) => plan.required = true,
            None => {
                return Err(fail(
                    required.span().start,
                    format!("required field {path:?} is no field's target"),
                ))
            }
        }
    }

    let body = body_plan(&file, &fail)?;
    let applies_to = file
        .applies_to
        .iter()
        .map(|a| {
            (
                a.get_ref().module.as_bytes().into(),
                a.get_ref().brief.as_bytes().into(),
            )
        })
        .collect();
    Ok(Grammar {
        name: file.name,
        description: file.description,
        origin,
        dataset: leak(file.dataset),
        failure_tag: leak(file.failure_tag),
        applies_to,
        body,
        fields,
        samples: file
            .sample_lines
            .into_iter()
            .map(|s| s.into_inner())
            .collect(),
        sample_context: file.samples,
    })
}

fn body_plan(
    file: &GrammarFile,
    fail: &dyn Fn(usize, String) -> GrammarError,
) -> Result<BodyPlan, GrammarError> {
    match file.body.get_ref() {
        BodySpec::KeyValue {
            strip_suffix,
            unknown_keys_prefix,
        } => {
            let strip_suffix = match strip_suffix.as_deref().map(str::as_bytes) {
                None => None,
                Some([one]) => Some(*one),
                Some(_) => {
                    return Err(fail(
                        file.body.span().start,
                        "strip_suffix must be one ASCII character".into(),
                    ))
                }
            };
            let mut keys = NameIndex::default();
            let mut spellings: Vec<(&[u8], u8)> = Vec::new();
            for (i, spanned) in file.fields.iter().enumerate() {
                let spec = spanned.get_ref();
                if spec.keys.is_empty() || !spec.labels.is_empty() || spec.position.is_some() {
                    return Err(fail(
                        spanned.span().start,
                        "a key_value field needs `keys` and no `labels` or `position`".into(),
                    ));
                }
                for key in &spec.keys {
                    if !is_key(key.as_bytes()) {
                        return Err(fail(spanned.span().start, format!("key {key:?} is not a letter followed by letters, digits, '_' or '-'")));
                    }
                    if spellings.len() == MAX_SPELLINGS {
                        return Err(fail(
                            spanned.span().start,
                            format!("a grammar may list at most {MAX_SPELLINGS} keys"),
                        ));
                    }
                    if !keys.insert(key.as_bytes(), spellings.len() as u8) {
                        return Err(fail(
                            spanned.span().start,
                            format!("key {key:?} names two fields"),
                        ));
                    }
                    spellings.push((key.as_bytes(), i as u8));
                }
            }
            let unknown_keys_prefix = unknown_keys_prefix.as_deref().map(Into::into);
            Ok(BodyPlan::KeyValue {
                strip_suffix,
                unknown_keys_prefix,
                keys,
                order: KeyOrder::new(&spellings),
            })
        }
        BodySpec::Groups { count } => {
            let count = *count;
            if count == 0 || count > MAX_FIELDS {
                return Err(fail(
                    file.body.span().start,
                    format!("count must be 1 to {MAX_FIELDS}"),
                ));
            }
            let mut labels = NameIndex::default();
            let mut by_position = vec![None; count];
            for (i, spanned) in file.fields.iter().enumerate() {
                let spec = spanned.get_ref();
                let at = spanned.span().start;
                if !spec.keys.is_empty() {
                    return Err(fail(
                        at,
                        "a groups field takes `labels` and `position`, not `keys`".into(),
                    ));
                }
                match spec.position {
                    Some(p) if (1..=count).contains(&p) && by_position[p - 1].is_none() => {
                        by_position[p - 1] = Some(i as u8)
                    }
                    Some(p) => {
                        return Err(fail(
                            at,
                            format!("position {p} is taken or outside 1..={count}"),
                        ))
                    }
                    None => return Err(fail(at, "a groups field needs a `position`".into())),
                }
                for label in &spec.labels {
                    let mut buffer = [0u8; 64];
                    let normal = normalise_label(label.as_bytes(), &mut buffer)
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| {
                            fail(
                                at,
                                format!("label {label:?} is empty or longer than 64 bytes"),
                            )
                        })?;
                    if !labels.insert(normal, i as u8) {
                        return Err(fail(at, format!("label {label:?} names two fields")));
                    }
                }
            }
            let position_labels = by_position
                .iter()
                .map(|field| match field {
                    Some(i) => file.fields[*i as usize]
                        .get_ref()
                        .labels
                        .iter()
                        .map(|label| label.as_bytes().into())
                        .collect(),
                    None => Vec::new(),
                })
                .collect();
            Ok(BodyPlan::Groups {
                count,
                labels,
                by_position,
                position_labels,
            })
        }
    }
}

fn target(path: &str) -> Result<Target, String> {
    if let Some(field) = Field::from_path(path) {
        return Ok(Target::Known(field));
    }
    let valid = !path.is_empty()
        && path.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if valid {
        Ok(Target::Extra(path.into()))
    } else {
        Err(format!(
            "target {path:?} is not a dotted field name of a-z, 0-9 and '_'"
        ))
    }
}

fn target_path(target: &Target) -> &str {
    match target {
        Target::Known(field) => field.path(),
        Target::Extra(path) => path,
    }
}

fn kind(spec: &super::grammar::FieldSpec) -> Result<Kind, String> {
    Ok(match spec.kind.as_str() {
        "text" => Kind::Text,
        "lowercase" => Kind::Lowercase,
        "ip" => Kind::Ip,
        "port" => Kind::Port,
        "integer" => Kind::Integer,
        "epoch_seconds" => Kind::EpochSeconds,
        "seconds" => Kind::Seconds,
        "endpoint" => Kind::Endpoint,
        "datetime" => {
            if spec.layouts.is_empty() {
                return Err("a datetime field needs `layouts`".into());
            }
            Kind::DateTime(spec.layouts.iter().map(|l| layout(l)).collect::<Result<_, _>>()?)
        }
        "enum" => {
            if spec.values.is_empty() {
                return Err("an enum field needs `values`".into());
            }
            Kind::Enum(spec.values.iter().map(|(k, v)| (k.as_bytes().into(), v.as_str().into())).collect())
        }
        other => {
            return Err(format!(
                "unknown type {other:?}; expected text, lowercase, ip, port, integer, epoch_seconds, datetime, seconds, endpoint or enum"
            ))
        }
    })
}

fn layout(text: &str) -> Result<Layout, String> {
    if text == "epoch" {
        return Ok(Layout::Epoch);
    }
    let mut steps = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            steps.push(Step::Literal(b));
            continue;
        }
        steps.push(match bytes.next() {
            Some(b'Y') => Step::Year,
            Some(b'm') => Step::Month,
            Some(b'd') => Step::Day,
            Some(b'H') => Step::Hour,
            Some(b'M') => Step::Minute,
            Some(b'S') => Step::Second,
            Some(b'%') => Step::Literal(b'%'),
            _ => {
                return Err(format!(
                    "layout {text:?}: only %Y %m %d %H %M %S and %% are known"
                ))
            }
        });
    }
    for needed in [
        Step::Year,
        Step::Month,
        Step::Day,
        Step::Hour,
        Step::Minute,
        Step::Second,
    ] {
        if !steps.contains(&needed) {
            return Err(format!("layout {text:?} lacks one of %Y %m %d %H %M %S"));
        }
    }
    Ok(Layout::Steps(steps))
}

fn check_types(kind: &Kind, targets: &[Target]) -> Result<(), String> {
    let wanted: &[&[FieldType]] = match kind {
        Kind::Text | Kind::Lowercase | Kind::Enum(_) => &[&[FieldType::Keyword, FieldType::Text]],
        Kind::Ip => &[&[FieldType::Ip]],
        Kind::Port | Kind::Integer | Kind::Seconds => &[&[FieldType::Long]],
        Kind::EpochSeconds | Kind::DateTime(_) => &[&[FieldType::Date]],
        Kind::Endpoint => &[&[FieldType::Ip], &[FieldType::Long]],
    };
    if targets.len() != wanted.len() {
        return Err(format!(
            "this type fills {} target(s), not {}",
            wanted.len(),
            targets.len()
        ));
    }
    for (target, allowed) in targets.iter().zip(wanted) {
        if let Target::Known(field) = target {
            if !allowed.contains(&field.def().kind) {
                return Err(format!(
                    "{} is typed {:?} in the schema; this type cannot fill it",
                    field.path(),
                    field.def().kind
                ));
            }
        }
    }
    Ok(())
}

fn is_key(key: &[u8]) -> bool {
    key.first().is_some_and(u8::is_ascii_alphabetic)
        && key
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// Grammar strings live as long as the process: they are loaded once at start.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name of under eight bytes over a three-byte alphabet (one of them zero):
    /// names of the same length must pack into different words.
    #[test]
    fn short_words_tell_every_short_name_apart() {
        let mut names: Vec<Vec<u8>> = vec![Vec::new()];
        let mut seen = std::collections::HashSet::new();
        while let Some(name) = names.pop() {
            assert!(
                seen.insert((name.len(), short_word(&name))),
                "{name:?} collides"
            );
            if name.len() < 7 {
                for b in [0, b'a', 0xff] {
                    let mut longer = name.clone();
                    longer.push(b);
                    names.push(longer);
                }
            }
        }
        assert_eq!(seen.len(), (0..8).map(|n| 3usize.pow(n)).sum::<usize>());
    }

    proptest::proptest! {
        #[test]
        fn name_index_finds_exactly_the_inserted_names(
            names in proptest::collection::vec("[A-Za-z][A-Za-z0-9_-]{0,30}", 1..60),
            probes in proptest::collection::vec("[A-Za-z][A-Za-z0-9_-]{0,30}", 0..20),
        ) {
            let mut index = NameIndex::default();
            let mut model: Vec<(Vec<u8>, u8)> = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let fresh = !model.iter().any(|(n, _)| n == name.as_bytes());
                proptest::prop_assert_eq!(index.insert(name.as_bytes(), i as u8), fresh);
                if fresh {
                    model.push((name.as_bytes().to_vec(), i as u8));
                }
            }
            for probe in names.iter().chain(&probes) {
                let want = model.iter().find(|(n, _)| n == probe.as_bytes()).map(|(_, i)| *i);
                proptest::prop_assert_eq!(index.get(probe.as_bytes()), want);
            }
            // Names that differ only in one byte past the words' reach.
            let long = b"DestinationNatPortNumberOfTheSession";
            let mut other = *long;
            other[26] = b'x';
            let mut index = NameIndex::default();
            index.insert(long, 1);
            proptest::prop_assert_eq!(index.get(long), Some(1));
            proptest::prop_assert_eq!(index.get(&other), None);
        }
    }
}
