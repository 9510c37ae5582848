//! Any IDoc, as a generic tree: the control record `EDI_DC40` and nested segments with their
//! fields, in document order. No knowledge of message types here.
//!
//! What real IDoc XML looks like, and what is accepted:
//! - one or several `<IDOC BEGIN="1">` elements, under the basic-type root (`<MATMAS05>`), under
//!   any wrapper (a SOAP body, a `<IDOC_ROOT>`), or as the root itself;
//! - namespace prefixes (`<ns0:MATMAS05>`, `<ns0:E1MARAM>`): only local names count;
//! - encodings: UTF-8 (default, BOM allowed), or what the declaration names (ISO-8859-1,
//!   windows-1252, …), decoded to UTF-8 before parsing;
//! - an element with child elements is a segment; one with only text is a field; a field left
//!   empty (`<LOEVM></LOEVM>`, `<LOEVM/>`) is absent;
//! - unknown and custom (`Z*`) segments are kept in the tree like any other.
//!
//! Memory stays bounded: the input size is capped by the caller, and nesting depth and segment
//! count by [`TreeLimits`].

use crate::error::{ParseError, identifier};
use quick_xml::Reader;
use quick_xml::events::Event;
use std::borrow::Cow;

/// Bounds on the shape of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Deepest element nesting accepted.
    pub max_depth: usize,
    /// Most elements (segments and fields) in one document.
    pub max_elements: usize,
}

impl Default for TreeLimits {
    fn default() -> Self {
        TreeLimits {
            max_depth: 64,
            max_elements: 1_000_000,
        }
    }
}

/// No element (the end of a chain of siblings, or no child yet).
const NONE: u32 = u32::MAX;

/// One element of a parsed document. The document is one vector of these in document order;
/// children are chained through `next`, so the tree costs one allocation however many segments
/// it has.
#[derive(Debug, Clone)]
struct Node<'a> {
    /// Local name, borrowed from the input where it can be.
    name: Cow<'a, str>,
    /// A field's value (trimmed when the element ends); unused for segments.
    text: Cow<'a, str>,
    first_child: u32,
    last_child: u32,
    /// The next sibling.
    next: u32,
}

impl<'a> Node<'a> {
    fn named(name: Cow<'a, str>) -> Node<'a> {
        Node {
            name,
            text: Cow::Borrowed(""),
            first_child: NONE,
            last_child: NONE,
            next: NONE,
        }
    }

    /// An element with child elements is a segment; one without is a field.
    fn is_segment(&self) -> bool {
        self.first_child != NONE
    }

    /// Appends text. Text of an element that already has children is whitespace between
    /// segments (IDocs have no mixed content) and is dropped.
    fn push_text(&mut self, t: Cow<'a, str>) {
        if self.is_segment() {
            return;
        }
        if self.text.is_empty() {
            self.text = t;
        } else {
            self.text.to_mut().push_str(&t);
        }
    }
}

/// The child elements of `at`, in document order.
fn child_nodes<'t>(nodes: &'t [Node<'t>], at: u32) -> impl Iterator<Item = (u32, &'t Node<'t>)> {
    let mut next = nodes[at as usize].first_child;
    std::iter::from_fn(move || {
        let at = next;
        let node = nodes.get(at as usize)?;
        next = node.next;
        Some((at, node))
    })
}

/// A parsed IDoc document: its elements, and where its IDocs are.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    nodes: Vec<Node<'a>>,
    /// Each IDoc: its `IDOC` element and its control record element.
    idocs: Vec<(u32, u32)>,
}

impl<'a> Document<'a> {
    /// The IDocs, in document order.
    pub fn idocs(&self) -> impl ExactSizeIterator<Item = Idoc<'_>> {
        let nodes: &[Node<'_>] = &self.nodes;
        self.idocs
            .iter()
            .map(move |&(at, control)| Idoc { nodes, at, control })
    }
}

/// One IDoc: its control record and its data segments. A view into its [`Document`].
#[derive(Clone, Copy)]
pub struct Idoc<'t> {
    nodes: &'t [Node<'t>],
    at: u32,
    control: u32,
}

impl<'t> Idoc<'t> {
    /// The control record (`EDI_DC40`; the first one, if there are several).
    pub fn control(&self) -> Segment<'t> {
        Segment {
            nodes: self.nodes,
            at: self.control,
        }
    }

    /// Top-level data segments, in order (control records are not data segments, and text
    /// directly under `IDOC` is not a segment).
    pub fn data_segments(&self) -> impl Iterator<Item = Segment<'t>> + 't {
        let nodes = self.nodes;
        child_nodes(nodes, self.at)
            .filter(|(_, n)| n.is_segment() && !is_control(&n.name))
            .map(move |(at, _)| Segment { nodes, at })
    }

    /// The first top-level segment with this name.
    pub fn segment(&self, name: &str) -> Option<Segment<'t>> {
        self.data_segments().find(|s| s.name() == name)
    }

    /// Top-level segments with this name.
    pub fn segments<'s>(&self, name: &'s str) -> impl Iterator<Item = Segment<'t>> + 's
    where
        't: 's,
    {
        self.data_segments().filter(move |s| s.name() == name)
    }
}

impl std::fmt::Debug for Idoc<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idoc")
            .field("control", &self.control())
            .field("segments", &self.data_segments().collect::<Vec<_>>())
            .finish()
    }
}

fn is_control(name: &str) -> bool {
    name == "EDI_DC40" || name == "EDI_DC"
}

/// An IDoc segment: its name, its fields and its child segments, in document order. A view
/// into its [`Document`]; names and values borrow from the document text where no unescaping
/// was needed.
#[derive(Clone, Copy)]
pub struct Segment<'t> {
    nodes: &'t [Node<'t>],
    at: u32,
}

impl<'t> Segment<'t> {
    /// Segment name, e.g. `E1MARAM` (local name, without namespace prefix).
    pub fn name(&self) -> &'t str {
        &self.nodes[self.at as usize].name
    }

    /// Fields in document order, values trimmed; empty fields are left out.
    pub fn fields(&self) -> impl Iterator<Item = (&'t str, &'t str)> + 't {
        child_nodes(self.nodes, self.at)
            .filter(|(_, n)| !n.is_segment() && !n.text.is_empty())
            .map(|(_, n)| (n.name.as_ref(), n.text.as_ref()))
    }

    /// The value of a field (`None` when absent or blank).
    pub fn field(&self, name: &str) -> Option<&'t str> {
        self.fields().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Child segments, in document order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'t>> + 't {
        let nodes = self.nodes;
        child_nodes(nodes, self.at)
            .filter(|(_, n)| n.is_segment())
            .map(move |(at, _)| Segment { nodes, at })
    }

    /// Child segments with this name.
    pub fn children<'s>(&self, name: &'s str) -> impl Iterator<Item = Segment<'t>> + 's
    where
        't: 's,
    {
        self.segments().filter(move |c| c.name() == name)
    }

    /// The first child segment with this name.
    pub fn child(&self, name: &str) -> Option<Segment<'t>> {
        self.segments().find(|c| c.name() == name)
    }
}

impl std::fmt::Debug for Segment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name())
            .field("fields", &self.fields().collect::<Vec<_>>())
            .field("children", &self.segments().collect::<Vec<_>>())
            .finish()
    }
}

/// What the parser tracks besides the events.
struct Open<'a> {
    nodes: Vec<Node<'a>>,
    /// The open elements; `stack[0]` is a synthetic document node.
    stack: Vec<u32>,
    elements: usize,
    seen_root: bool,
    limits: TreeLimits,
}

impl<'a> Open<'a> {
    fn top(&mut self) -> &mut Node<'a> {
        let at = *self
            .stack
            .last()
            .expect("the document node is never closed");
        &mut self.nodes[at as usize]
    }
}

/// A start tag (or an empty element): checks the bounds and the single root, then adds the
/// element to its parent (and, unless empty, opens it).
fn open<'a>(
    state: &mut Open<'a>,
    reader: &Reader<&[u8]>,
    text: &'a str,
    e: &quick_xml::events::BytesStart<'_>,
    empty: bool,
) -> Result<(), ParseError> {
    if state.stack.len() == 1 && state.seen_root {
        return Err(ParseError::Xml {
            position: reader.error_position(),
            reason: "more than one root element".into(),
        });
    }
    state.seen_root = true;
    state.elements += 1;
    if state.elements > state.limits.max_elements {
        return Err(ParseError::TooManySegments {
            limit: state.limits.max_elements,
        });
    }
    if !empty && state.stack.len() > state.limits.max_depth {
        return Err(ParseError::TooDeep {
            path: path_of(&state.nodes, &state.stack),
            limit: state.limits.max_depth,
        });
    }
    // The element count is bounded by the input's size, far below u32::MAX.
    let at = u32::try_from(state.nodes.len()).map_err(|_| ParseError::TooManySegments {
        limit: state.limits.max_elements,
    })?;
    state.nodes.push(Node::named(element_name(text, e)));
    let parent = state.top();
    let previous = parent.last_child;
    parent.last_child = at;
    if previous == NONE {
        parent.first_child = at;
    } else {
        state.nodes[previous as usize].next = at;
    }
    if !empty {
        state.stack.push(at);
    }
    Ok(())
}

/// The local name (without namespace prefix) of a start tag, borrowed from the input `text`.
fn element_name<'a>(text: &'a str, e: &quick_xml::events::BytesStart<'_>) -> Cow<'a, str> {
    let name = e.name();
    let name = name.as_ref();
    let local = &name[name.iter().rposition(|c| *c == b':').map_or(0, |i| i + 1)..];
    match borrowed(text, local) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(String::from_utf8_lossy(local).into_owned()),
    }
}

/// Decodes the bytes to UTF-8 by their BOM or XML declaration.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ParseError> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(ParseError::Encoding {
                encoding: enc.name().to_string(),
                reason: "invalid byte sequence".into(),
            });
        }
        return Ok(text);
    }
    let declared = declared_encoding(bytes);
    match declared {
        None => utf8(bytes),
        Some(label) => {
            let enc = encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
                ParseError::Encoding {
                    encoding: identifier(&label, 40),
                    reason: "unknown encoding".into(),
                }
            })?;
            if enc == encoding_rs::UTF_8 {
                return utf8(bytes);
            }
            let (text, had_errors) = enc.decode_without_bom_handling(bytes);
            if had_errors {
                return Err(ParseError::Encoding {
                    encoding: enc.name().to_string(),
                    reason: "invalid byte sequence".into(),
                });
            }
            Ok(text)
        }
    }
}

/// The bytes as UTF-8. Checked with `simdutf8` (SIMD; std's check took about 0.3 µs of a
/// record's CPU in the bench's profile), and again with std for the error's position when
/// invalid.
fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, ParseError> {
    simdutf8::basic::from_utf8(bytes)
        .or_else(|_| std::str::from_utf8(bytes))
        .map(Cow::Borrowed)
        .map_err(|e| ParseError::Encoding {
            encoding: "UTF-8".into(),
            reason: e.to_string(),
        })
}

/// The `encoding` of an XML declaration at the start of the bytes.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
    if !rest.starts_with(b"<?xml") {
        return None;
    }
    let end = rest.windows(2).take(512).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let at = decl.find("encoding")?;
    let after = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_string())
}

/// Parses IDoc XML text into its IDocs.
pub fn parse(text: &str, limits: TreeLimits) -> Result<Document<'_>, ParseError> {
    let nodes = parse_nodes(text, limits)?;
    let mut idocs = Vec::new();
    for (index, at) in idoc_elements(&nodes).into_iter().enumerate() {
        let control = child_nodes(&nodes, at)
            .find(|(_, n)| is_control(&n.name))
            .ok_or_else(|| ParseError::MissingControlRecord {
                path: format!("IDOC[{index}]"),
            })?
            .0;
        idocs.push((at, control));
    }
    if idocs.is_empty() {
        return Err(ParseError::NoIdoc);
    }
    Ok(Document { nodes, idocs })
}

fn parse_nodes(text: &str, limits: TreeLimits) -> Result<Vec<Node<'_>>, ParseError> {
    let mut reader = Reader::from_str(text);
    // No trim_text: it would trim each piece of text around an entity reference ("A &lt; 0")
    // separately; fields are trimmed once, whole, when their element ends.
    let xml_err = |reader: &Reader<&[u8]>, reason: String| ParseError::Xml {
        position: reader.error_position(),
        reason,
    };
    // About one element per 31 bytes in the fixtures' IDoc XML: room for one per 24 makes the
    // tree of a usual document one allocation, never grown (growing it copied the whole tree).
    // Capped, so that a large record made mostly of text does not reserve room for elements it
    // does not have; a large document grows the vector as it goes.
    let mut nodes = Vec::with_capacity((text.len() / 24 + 8).min(4096));
    nodes.push(Node::named(Cow::Borrowed("")));
    let mut state = Open {
        nodes,
        stack: {
            // IDocs nest a few levels deep: room for that at once.
            let mut stack = Vec::with_capacity(16);
            stack.push(0);
            stack
        },
        elements: 0,
        seen_root: false,
        limits,
    };
    loop {
        // `map_err` and `?`, not a `match` on the result: the `match` made the whole parser
        // 17% slower in criterion (the same logic, other code generated).
        let event = reader
            .read_event()
            .map_err(|e| xml_err(&reader, xml_reason(&e)))?;
        match event {
            Event::Start(e) => open(&mut state, &reader, text, &e, false)?,
            Event::Empty(e) => open(&mut state, &reader, text, &e, true)?,
            Event::End(_) => {
                if state.stack.len() <= 1 {
                    return Err(xml_err(&reader, "unbalanced end tag".into()));
                }
                let node = state.top();
                if !node.is_segment() {
                    node.text = match std::mem::take(&mut node.text) {
                        Cow::Borrowed(t) => Cow::Borrowed(t.trim()),
                        Cow::Owned(t) if t.trim().len() == t.len() => Cow::Owned(t),
                        Cow::Owned(t) => Cow::Owned(t.trim().to_string()),
                    };
                }
                state.stack.pop();
            }
            Event::Text(t) => {
                // Whitespace between segments is dropped before anything is done with it.
                if state.stack.len() > 1 && state.top().is_segment() {
                    continue;
                }
                let raw = match borrowed(text, &t) {
                    Some(s) => Cow::Borrowed(s),
                    None => t
                        .decode()
                        .map_err(|_| xml_err(&reader, UNDECODABLE.into()))?,
                };
                push_text(&mut state, &reader, raw)?;
            }
            Event::CData(t) => {
                let raw = t
                    .decode()
                    .map_err(|_| xml_err(&reader, UNDECODABLE.into()))?;
                state.top().push_text(raw);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r
                            .decode()
                            .map_err(|_| xml_err(&reader, UNDECODABLE.into()))?;
                        match name.as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            // Not its name: an entity reference can be a piece of a value.
                            _ => {
                                return Err(ParseError::Xml {
                                    position: reader.buffer_position(),
                                    reason: "undefined entity reference".into(),
                                });
                            }
                        }
                    }
                    Err(_) => {
                        return Err(xml_err(&reader, "invalid character reference".into()));
                    }
                };
                state.top().push_text(Cow::Owned(resolved));
            }
            Event::DocType(_) => {
                // A DTD could declare entities that expand without bound; IDocs never carry one.
                return Err(xml_err(&reader, "DOCTYPE is not accepted".into()));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if state.stack.len() != 1 {
        let open = state.top().name.to_string();
        return Err(ParseError::Xml {
            position: text.len() as u64,
            reason: format!("document ends inside <{}>", identifier(&open, 64)),
        });
    }
    if !state.nodes[0].is_segment() {
        return Err(ParseError::Xml {
            position: 0,
            reason: "no root element".into(),
        });
    }
    Ok(state.nodes)
}

/// What an error's message says of text that cannot be decoded (never the text).
const UNDECODABLE: &str = "text that cannot be decoded";

/// The reason of a reader error, for the error message: quick-xml's own words for syntax and
/// well-formedness (they name markup: tags, `-->`, `?>`), a fixed sentence for the rest, whose
/// quick-xml message can quote a piece of a field's value (an entity name, a code point).
fn xml_reason(e: &quick_xml::Error) -> String {
    match e {
        quick_xml::Error::Syntax(e) => format!("syntax error: {e}"),
        quick_xml::Error::IllFormed(e) => {
            use quick_xml::errors::IllFormedError as Ill;
            // Tag names are markup, yet whatever follows `</` is read as one: quoted only when
            // it looks like a name.
            let tag = |t: &str| identifier(t, 64);
            match e {
                Ill::MissingEndTag(t) => format!("ill-formed document: <{}> not closed", tag(t)),
                Ill::UnmatchedEndTag(t) => {
                    format!("ill-formed document: </{}> closes no open tag", tag(t))
                }
                Ill::MismatchedEndTag { expected, found } => format!(
                    "ill-formed document: expected </{}>, found </{}>",
                    tag(expected),
                    tag(found)
                ),
                Ill::MissingDeclVersion(_) => {
                    "ill-formed document: XML declaration without version".into()
                }
                other => format!("ill-formed document: {other}"),
            }
        }
        quick_xml::Error::InvalidAttr(_) => "malformed attribute".into(),
        quick_xml::Error::Escape(_) => "invalid character or entity reference".into(),
        quick_xml::Error::Encoding(_) => UNDECODABLE.into(),
        _ => "unreadable XML".into(),
    }
}

/// The slice of `text` that `bytes` (part of an event of a reader over `text`) is, without
/// decoding it again: the input is already UTF-8, and names and texts start and end next to
/// ASCII markup (`<`, `>`, `:`, `&`, whitespace), so they fall on character boundaries.
fn borrowed<'a>(text: &'a str, bytes: &[u8]) -> Option<&'a str> {
    let start = (bytes.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    text.get(start..start.checked_add(bytes.len())?)
        .filter(|s| s.as_ptr() == bytes.as_ptr())
}

fn push_text<'a>(
    state: &mut Open<'a>,
    reader: &Reader<&[u8]>,
    raw: Cow<'a, str>,
) -> Result<(), ParseError> {
    if state.stack.len() == 1 {
        if raw.trim().is_empty() {
            return Ok(());
        }
        return Err(ParseError::Xml {
            position: reader.buffer_position(),
            reason: "text outside the root element".into(),
        });
    }
    state.top().push_text(raw);
    Ok(())
}

fn path_of(nodes: &[Node<'_>], stack: &[u32]) -> String {
    stack
        .iter()
        .skip(1)
        .map(|&at| nodes[at as usize].name.as_ref())
        .collect::<Vec<_>>()
        .join(".")
}

/// Every `IDOC` element (at any depth, not nested in another), in document order.
fn idoc_elements(nodes: &[Node<'_>]) -> Vec<u32> {
    let mut found = Vec::new();
    // Heads of sibling chains still to visit; a child chain is visited before the rest of its
    // parent's chain, so elements come in document order.
    let mut pending = vec![nodes[0].first_child];
    while let Some(at) = pending.pop() {
        let Some(node) = nodes.get(at as usize) else {
            continue;
        };
        pending.push(node.next);
        if node.name == "IDOC" {
            found.push(at);
        } else {
            pending.push(node.first_child);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATMAS: &str = include_str!("../../fixtures/matmas05_pump.xml");

    #[test]
    fn parses_the_fixture_into_control_and_segments() {
        // Scenario: the MATMAS05 fixture: one IDoc, its control record, E1MARAM with nested
        // descriptions, plants and valuation, in document order; empty fields absent.
        let doc = parse(MATMAS, TreeLimits::default()).unwrap();
        let idocs: Vec<Idoc<'_>> = doc.idocs().collect();
        assert_eq!(idocs.len(), 1);
        let idoc = &idocs[0];
        assert_eq!(idoc.control().field("DOCNUM"), Some("0000000004711001"));
        let mara = idoc.segment("E1MARAM").unwrap();
        assert_eq!(mara.field("MATNR"), Some("000000000000100234"));
        let kinds: Vec<&str> = mara.segments().map(|c| c.name()).collect();
        assert_eq!(
            kinds,
            ["E1MAKTM", "E1MAKTM", "E1MARCM", "E1MARCM", "E1MBEWM"]
        );
        assert_eq!(
            mara.segments().nth(1).unwrap().field("MAKTX"),
            Some("Bomba hidráulica HP-200")
        );
        // Fields in document order, the empty ones left out.
        let control: Vec<&str> = idoc.control().fields().map(|(n, _)| n).take(3).collect();
        assert_eq!(control, ["TABNAM", "MANDT", "DOCNUM"]);
    }

    #[test]
    fn namespaces_wrappers_and_several_idocs() {
        // Scenario: prefixed names under a SOAP-like wrapper, two IDocs, entity references and
        // an empty field.
        let xml = r#"<?xml version="1.0"?>
<soap:Envelope xmlns:soap="urn:s"><soap:Body>
 <ns0:MATMAS05 xmlns:ns0="urn:sap">
  <ns0:IDOC BEGIN="1"><ns0:EDI_DC40 SEGMENT="1"><ns0:DOCNUM>1</ns0:DOCNUM></ns0:EDI_DC40>
   <ns0:E1MARAM SEGMENT="1"><ns0:MATNR>A&amp;B</ns0:MATNR><ns0:LVORM/></ns0:E1MARAM></ns0:IDOC>
  <ns0:IDOC BEGIN="1"><ns0:EDI_DC40 SEGMENT="1"><ns0:DOCNUM>2</ns0:DOCNUM></ns0:EDI_DC40>
   <ns0:E1MARAM SEGMENT="1"><ns0:MATNR>&#67;</ns0:MATNR></ns0:E1MARAM></ns0:IDOC>
 </ns0:MATMAS05></soap:Body></soap:Envelope>"#;
        let doc = parse(xml, TreeLimits::default()).unwrap();
        let idocs: Vec<Idoc<'_>> = doc.idocs().collect();
        assert_eq!(idocs.len(), 2);
        assert_eq!(
            idocs[0].segment("E1MARAM").unwrap().field("MATNR"),
            Some("A&B")
        );
        assert_eq!(idocs[0].segment("E1MARAM").unwrap().field("LVORM"), None);
        assert_eq!(idocs[1].control().field("DOCNUM"), Some("2"));
        assert_eq!(
            idocs[1].segment("E1MARAM").unwrap().field("MATNR"),
            Some("C")
        );
    }

    #[test]
    fn names_and_text_borrow_from_the_input() {
        // Scenario: the parser allocates no string for element names or plain text.
        let nodes = parse_nodes(
            "<a:B x=\"1\"><C> text </C><D/></a:B>",
            TreeLimits::default(),
        )
        .unwrap();
        assert_eq!(
            nodes.len(),
            4,
            "the document node and three elements, in one vector"
        );
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_ref()).collect();
        assert_eq!(names, ["", "B", "C", "D"]);
        assert!(nodes.iter().all(|n| matches!(n.name, Cow::Borrowed(_))));
        assert!(matches!(nodes[2].text, Cow::Borrowed("text")));
        let children: Vec<u32> = child_nodes(&nodes, 1).map(|(at, _)| at).collect();
        assert_eq!(children, [2, 3]);
    }

    #[test]
    fn a_large_text_reserves_no_room_for_elements() {
        // Scenario: a 1 MiB field: the tree reserves what a usual document needs, not one
        // element per 32 bytes of text, and the text is borrowed whole.
        let xml = format!(
            "<IDOC><EDI_DC40><A>1</A></EDI_DC40><E1X><T>{}</T></E1X></IDOC>",
            "x".repeat(1 << 20)
        );
        let nodes = parse_nodes(&xml, TreeLimits::default()).unwrap();
        assert_eq!(nodes.len(), 6);
        assert!(nodes.capacity() <= 4096, "{}", nodes.capacity());
        assert_eq!(nodes[5].name, "T");
        assert!(matches!(nodes[5].text, Cow::Borrowed(t) if t.len() == 1 << 20));
    }

    #[test]
    fn idoc_boundaries_control_records_and_empty_elements() {
        // Scenario: an empty IDOC has no control
        // record; the first EDI_DC40 is the control record and a second is dropped; text
        // directly under IDOC is not a segment; an IDOC nested in an IDoc is a segment; a
        // segment whose only field is empty is still a segment.
        let err = parse("<R><IDOC/></R>", TreeLimits::default()).unwrap_err();
        assert!(matches!(err, ParseError::MissingControlRecord { ref path } if path == "IDOC[0]"));
        let err = parse(
            "<R><IDOC><EDI_DC40><A>1</A></EDI_DC40></IDOC><IDOC><E1X><B>2</B></E1X></IDOC></R>",
            TreeLimits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ParseError::MissingControlRecord { ref path } if path == "IDOC[1]"));

        let doc = parse(
            "<IDOC><EDI_DC40><A>1</A></EDI_DC40><EDI_DC40><A>2</A></EDI_DC40><LOOSE>x</LOOSE>\
             <IDOC><E1N><N>3</N></E1N></IDOC><E1E><F/><G>  </G></E1E></IDOC>",
            TreeLimits::default(),
        )
        .unwrap();
        let idocs: Vec<Idoc<'_>> = doc.idocs().collect();
        assert_eq!(idocs.len(), 1);
        let idoc = &idocs[0];
        assert_eq!(idoc.control().field("A"), Some("1"));
        let segments: Vec<Segment<'_>> = idoc.data_segments().collect();
        let names: Vec<&str> = segments.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["IDOC", "E1E"]);
        assert_eq!(segments[0].child("E1N").unwrap().field("N"), Some("3"));
        assert_eq!(segments[1].fields().count(), 0);

        // A control record without fields is still the control record.
        let doc = parse(
            "<IDOC><EDI_DC40/><E1X><B>2</B></E1X></IDOC>",
            TreeLimits::default(),
        )
        .unwrap();
        let idoc = doc.idocs().next().unwrap();
        assert_eq!(idoc.control().fields().count(), 0);
        assert_eq!(idoc.segment("E1X").unwrap().field("B"), Some("2"));
    }

    #[test]
    fn latin1_is_decoded_by_its_declaration() {
        // Scenario: an ISO-8859-1 document with a non-ASCII byte decodes to the right text.
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><X><IDOC><EDI_DC40><DOCNUM>1</DOCNUM></EDI_DC40><E1KNA1M><NAME1>Metal".to_vec();
        bytes.push(0xFA); // u acute in Latin-1
        bytes.extend_from_slice(b"rgica</NAME1></E1KNA1M></IDOC></X>");
        let text = decode(&bytes).unwrap();
        let doc = parse(&text, TreeLimits::default()).unwrap();
        assert_eq!(
            doc.idocs()
                .next()
                .unwrap()
                .segment("E1KNA1M")
                .unwrap()
                .field("NAME1"),
            Some("Metalúrgica")
        );
        // The same bytes without the declaration are not UTF-8.
        let undeclared = &bytes[bytes.iter().position(|b| *b == b'>').unwrap() + 1..];
        assert!(matches!(
            decode(undeclared),
            Err(ParseError::Encoding { .. })
        ));
    }

    #[test]
    fn malformed_and_hostile_documents_fail_cleanly() {
        // Scenario: broken XML, no IDOC, no control record, too deep, DOCTYPE entities: each a
        // typed error, never a panic.
        assert!(matches!(
            parse("<a><b></a>", TreeLimits::default()),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(
            parse("<a></a>", TreeLimits::default()),
            Err(ParseError::NoIdoc)
        ));
        assert!(matches!(
            parse(
                "<X><IDOC><E1X><F>1</F></E1X></IDOC></X>",
                TreeLimits::default()
            ),
            Err(ParseError::MissingControlRecord { .. })
        ));
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(matches!(
            parse(&deep, TreeLimits::default()),
            Err(ParseError::TooDeep { .. })
        ));
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#;
        assert!(matches!(
            parse(bomb, TreeLimits::default()),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(
            parse("", TreeLimits::default()),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(
            parse("<a/><b/>", TreeLimits::default()),
            Err(ParseError::Xml { .. })
        ));
    }
}
