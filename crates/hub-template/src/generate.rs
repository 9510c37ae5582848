//! `template.yaml` generated from one definition per SAP object (STYLE §18).
//!
//! Every SAP object (customer, material, sales order, …) has the same resources: a queue with its
//! DLQ and subscription, a sync function, a redrive function, their log groups, alarms, outputs,
//! entries in the queue policy and lines on the dashboard. They are written once, in
//! `infra/template/object.yaml`, with `{{field}}` placeholders; `infra/template/objects.yaml`
//! lists the objects with their fields; `infra/template/base.yaml` is the rest of the template,
//! with a marker where each part of an object goes. [`render`] puts them together; the result is
//! checked in as `template.yaml` (what `sam deploy` and the local provisioner read), and a test
//! fails while the two differ.
//!
//! CloudFormation's `Fn::ForEach` cannot do this: it makes map entries (resources, outputs,
//! properties) but neither entries of a list (the queue policy's queues) nor text inside a string
//! (the dashboard body), and the local provisioner would have to expand it too.
//!
//! # The files
//! - `objects.yaml`: `objects:`, a list of mappings field → scalar, in the order their parts
//!   appear in the template; `defaults:` (optional), the value of a field for every object that
//!   does not set it. Every object sets [`REQUIRED`].
//! - `object.yaml`: sections, each opened by a line `#@section <name>` and running to the next
//!   one, blank lines included (but those at the end of the file). `{{field}}` is the object's value; `{{comma}}` is `,` for every
//!   object but the last (an entry of a JSON list).
//! - `base.yaml`: the template, with lines `#@each <section>` where that section is repeated for
//!   every object in turn.
//!
//! In all three, a line `#@ …` is a note about the definition and is left out. Text is copied
//! as it stands, comments and layout included. `{{` that does not open `{{name}}` (the
//! `${{{stem}}DLQ.QueueName}` of a `!Sub`, a `{{resolve:…}}` dynamic reference) is plain text.

use crate::error::GenerateError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The shared part of the template, with `#@each` markers.
pub const BASE: &str = "base.yaml";
/// The per-object sections.
pub const OBJECT: &str = "object.yaml";
/// The objects and their fields.
pub const OBJECTS: &str = "objects.yaml";
/// Where the definition lives, from the repository root.
pub const DIR: &str = "infra/template";
/// The command that writes `template.yaml` from the definition.
pub const COMMAND: &str = "cargo run -p hub-template --example generate-template";

/// The fields every object sets, what they name, and the characters their value may use.
pub const REQUIRED: &[(&str, &str)] = &[
    (
        "entity",
        "the `entity` attribute its subscription filters on (customer, sales_order)",
    ),
    (
        "domain",
        "queue and redrive names, the `domain` metric dimension (customers, sales-orders)",
    ),
    (
        "stem",
        "the logical-id stem (Customers: CustomersQueue, CustomersSync, …)",
    ),
    (
        "function",
        "the sync function's name and binary (customer-sync)",
    ),
    ("title", "the heading of its queue section (sales orders)"),
];

/// The placeholder that is `,` for every object but the last.
const COMMA: &str = "comma";

/// The first lines of the generated file.
fn header() -> String {
    format!(
        "# Generated from {DIR}/ ({BASE}, {OBJECT}, {OBJECTS}): edit those, then run\n\
         #   {COMMAND}\n\
         # A test fails while this file differs from what they generate.\n"
    )
}

/// One SAP object of `objects.yaml`, its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    fields: BTreeMap<String, String>,
}

impl Object {
    /// The value of a field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Every field and its value.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn required(&self, name: &str) -> &str {
        self.field(name).unwrap_or_default()
    }

    /// The `entity` routing value: `customer`, `sales_order`, …
    pub fn entity(&self) -> &str {
        self.required("entity")
    }

    /// The domain: `customers`, `sales-orders`, …
    pub fn domain(&self) -> &str {
        self.required("domain")
    }

    /// The logical-id stem: `Customers`, `SalesOrders`, …
    pub fn stem(&self) -> &str {
        self.required("stem")
    }

    /// The sync function's name and binary: `customer-sync`, …
    pub fn function(&self) -> &str {
        self.required("function")
    }
}

/// Reads the definition in `dir` (the repository's [`DIR`]) and returns `template.yaml`.
pub fn render(dir: &Path) -> Result<String, GenerateError> {
    let objects = objects(dir)?;
    render_with(&read(dir, BASE)?, &read(dir, OBJECT)?, &objects)
}

/// The objects of `dir/objects.yaml`.
pub fn objects(dir: &Path) -> Result<Vec<Object>, GenerateError> {
    parse_objects(&read(dir, OBJECTS)?)
}

fn read(dir: &Path, name: &str) -> Result<String, GenerateError> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|source| GenerateError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Parses `objects.yaml`.
pub fn parse_objects(text: &str) -> Result<Vec<Object>, GenerateError> {
    use serde_norway::Value as Y;
    let bad = |m: String| GenerateError::Objects(m);
    let Y::Mapping(root) = serde_norway::from_str::<Y>(text)? else {
        return Err(bad(
            "must be a mapping with `objects` (and `defaults`)".into()
        ));
    };
    let mut defaults = BTreeMap::new();
    let mut list = None;
    for (key, value) in root {
        match key.as_str() {
            Some("defaults") => defaults = scalar_fields(value, "defaults")?,
            Some("objects") => match value {
                Y::Sequence(s) => list = Some(s),
                _ => return Err(bad("`objects` must be a list".into())),
            },
            other => {
                let name = other.map_or_else(|| format!("{key:?}"), str::to_string);
                return Err(bad(format!("unknown key {name} (objects, defaults)")));
            }
        }
    }
    let list = list.filter(|l| !l.is_empty());
    let list = list.ok_or_else(|| bad("`objects` lists no object".into()))?;
    let mut objects: Vec<Object> = Vec::with_capacity(list.len());
    for (i, value) in list.into_iter().enumerate() {
        let own = scalar_fields(value, &format!("objects[{i}]"))?;
        let name = own
            .get("stem")
            .cloned()
            .unwrap_or_else(|| format!("objects[{i}]"));
        let mut fields = defaults.clone();
        fields.extend(own);
        for (field, what) in REQUIRED {
            let value = fields
                .get(*field)
                .ok_or_else(|| bad(format!("{name} has no {field}, {what}")))?;
            if let Some(expected) = invalid(field, value) {
                return Err(bad(format!("{name}: {field} {value:?} must be {expected}")));
            }
        }
        for other in &objects {
            for field in ["entity", "domain", "stem", "function"] {
                if other.field(field) == fields.get(field).map(String::as_str) {
                    return Err(bad(format!(
                        "{name}: {field} {:?} is also {}'s",
                        fields[field],
                        other.stem()
                    )));
                }
            }
        }
        objects.push(Object { fields });
    }
    Ok(objects)
}

/// A mapping of field names to one-line scalars.
fn scalar_fields(
    value: serde_norway::Value,
    path: &str,
) -> Result<BTreeMap<String, String>, GenerateError> {
    use serde_norway::Value as Y;
    let bad = |m: String| GenerateError::Objects(format!("{path}: {m}"));
    let Y::Mapping(m) = value else {
        return Err(bad("must be a mapping of fields".into()));
    };
    let mut out = BTreeMap::new();
    for (key, value) in m {
        let Some(key) = key.as_str().filter(|k| is_field_name(k)) else {
            return Err(bad(format!(
                "field {key:?}: names are lower case letters, digits and _"
            )));
        };
        if key == COMMA {
            return Err(bad(format!("{{{{{COMMA}}}}} is the generator's own")));
        }
        let value = match value {
            Y::String(s) => s,
            Y::Number(n) => n.to_string(),
            Y::Bool(b) => b.to_string(),
            _ => return Err(bad(format!("{key} must be a string, number or boolean"))),
        };
        if value.contains(['\n', '\r']) {
            return Err(bad(format!("{key} must be one line")));
        }
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

/// What a required field's value must look like, if it does not.
fn invalid(field: &str, value: &str) -> Option<&'static str> {
    let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let first_lower = value.starts_with(|c: char| c.is_ascii_lowercase());
    let ok = match field {
        "entity" => first_lower && value.chars().all(|c| lower(c) || c == '_'),
        "domain" | "function" => first_lower && value.chars().all(|c| lower(c) || c == '-'),
        "stem" => {
            value.starts_with(|c: char| c.is_ascii_uppercase())
                && value.chars().all(|c| c.is_ascii_alphanumeric())
        }
        _ => {
            !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_alphanumeric() || " -".contains(c))
        }
    };
    (!ok).then_some(match field {
        "entity" => "lower case letters, digits and _",
        "domain" | "function" => "lower case letters, digits and -",
        "stem" => "an upper case letter, then letters and digits (a logical-id stem)",
        _ => "letters, digits, spaces and -",
    })
}

fn is_field_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A line of the definition that is more than text.
#[derive(Debug, PartialEq)]
enum Directive<'a> {
    /// `#@ …`: a note, left out.
    Note,
    /// `#@section <name>` (object.yaml).
    Section(&'a str),
    /// `#@each <section>` (base.yaml).
    Each(&'a str),
    /// `#@<something else>`.
    Unknown(&'a str),
}

fn directive(line: &str) -> Option<Directive<'_>> {
    let rest = line.trim_start().strip_prefix("#@")?;
    if rest.is_empty() || rest.starts_with(' ') {
        return Some(Directive::Note);
    }
    let (word, arg) = rest.split_once(' ').unwrap_or((rest, ""));
    Some(match word {
        "section" => Directive::Section(arg.trim()),
        "each" => Directive::Each(arg.trim()),
        _ => Directive::Unknown(word),
    })
}

/// A piece of a line: text, or a `{{name}}` placeholder.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Field(&'a str),
}

/// Splits a line at its `{{name}}` placeholders (`name`: lower case letters, digits, `_`).
fn pieces(line: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text_from = 0;
    let mut i = 0;
    while let Some(at) = line[i..].find("{{").map(|p| p + i) {
        let name_from = at + 2;
        let name_len = line[name_from..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(line.len() - name_from);
        let name = &line[name_from..name_from + name_len];
        if !name.is_empty() && line[name_from + name_len..].starts_with("}}") {
            if text_from < at {
                out.push(Piece::Text(&line[text_from..at]));
            }
            out.push(Piece::Field(name));
            i = name_from + name_len + 2;
            text_from = i;
        } else {
            // Not a placeholder: `{{` stays text; look again one character on (`${{{stem}}`).
            i = at + 1;
        }
    }
    if text_from < line.len() {
        out.push(Piece::Text(&line[text_from..]));
    }
    out
}

/// A section of `object.yaml`: its lines with their numbers, notes left out.
struct Section<'a> {
    name: &'a str,
    lines: Vec<(usize, &'a str)>,
}

fn sections(text: &str) -> Result<Vec<Section<'_>>, GenerateError> {
    let err = |line: usize, reason: String| GenerateError::Line {
        file: OBJECT,
        line,
        reason,
    };
    let mut out: Vec<Section<'_>> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        match directive(line) {
            Some(Directive::Note) => {}
            Some(Directive::Section(name)) => {
                if !is_field_name(name) {
                    return Err(err(
                        n,
                        format!("section name {name:?}: lower case letters, digits and _"),
                    ));
                }
                if out.iter().any(|s| s.name == name) {
                    return Err(err(n, format!("section {name} is defined twice")));
                }
                out.push(Section {
                    name,
                    lines: Vec::new(),
                });
            }
            Some(Directive::Each(_)) => {
                return Err(err(n, format!("#@each belongs in {BASE}")));
            }
            Some(Directive::Unknown(word)) => {
                return Err(err(n, format!("unknown directive #@{word}")));
            }
            None => match out.last_mut() {
                Some(section) => section.lines.push((n, line)),
                None if line.trim().is_empty() => {}
                None => {
                    return Err(err(
                        n,
                        "text before the first #@section (notes are `#@ …` lines)".into(),
                    ));
                }
            },
        }
    }
    // Blank lines at the end of the file (an editor's habit) are not the last section's.
    if let Some(last) = out.last_mut() {
        while last.lines.last().is_some_and(|(_, l)| l.trim().is_empty()) {
            last.lines.pop();
        }
    }
    Ok(out)
}

/// Puts the definition together: `base` with every `#@each` marker replaced by its section of
/// `object` for each of `objects`. Fails on anything it cannot place, and on sections and fields
/// nothing uses.
pub fn render_with(base: &str, object: &str, objects: &[Object]) -> Result<String, GenerateError> {
    let sections = sections(object)?;
    let mut used_sections = BTreeSet::new();
    let mut used_fields = BTreeSet::new();
    let mut out = header();
    for (n, line) in base.lines().enumerate() {
        let n = n + 1;
        let err = |reason: String| GenerateError::Line {
            file: BASE,
            line: n,
            reason,
        };
        match directive(line) {
            Some(Directive::Note) => {}
            Some(Directive::Each(name)) => {
                let section = sections
                    .iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| err(format!("{OBJECT} has no section {name:?}")))?;
                used_sections.insert(name);
                for (i, o) in objects.iter().enumerate() {
                    let last = i + 1 == objects.len();
                    for &(line_no, text) in &section.lines {
                        render_line(text, line_no, o, last, &mut out, &mut used_fields)?;
                    }
                }
            }
            Some(Directive::Section(_)) => {
                return Err(err(format!("#@section belongs in {OBJECT}")));
            }
            Some(Directive::Unknown(word)) => {
                return Err(err(format!("unknown directive #@{word}")));
            }
            None => {
                if let Some(Piece::Field(name)) = pieces(line)
                    .into_iter()
                    .find(|p| matches!(p, Piece::Field(_)))
                {
                    return Err(err(format!("{{{{{name}}}}} outside a section of {OBJECT}")));
                }
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if let Some(s) = sections.iter().find(|s| !used_sections.contains(s.name)) {
        return Err(GenerateError::Unused {
            file: OBJECT,
            what: format!("section {} (no #@each {} in {BASE})", s.name, s.name),
        });
    }
    let declared: BTreeSet<&str> = objects
        .iter()
        .flat_map(|o| o.fields.keys())
        .map(String::as_str)
        .collect();
    if let Some(field) = declared.iter().find(|f| !used_fields.contains(**f)) {
        return Err(GenerateError::Unused {
            file: OBJECTS,
            what: format!("field {field} (no {{{{{field}}}}} in {OBJECT})"),
        });
    }
    Ok(out)
}

fn render_line<'a>(
    text: &'a str,
    line: usize,
    object: &Object,
    last: bool,
    out: &mut String,
    used: &mut BTreeSet<&'a str>,
) -> Result<(), GenerateError> {
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(COMMA) => out.push_str(if last { "" } else { "," }),
            Piece::Field(name) => {
                let value = object.field(name).ok_or_else(|| GenerateError::Line {
                    file: OBJECT,
                    line,
                    reason: format!(
                        "{{{{{name}}}}}: {} has no field {name} (set it in {OBJECTS}, or give it a default there)",
                        object.stem()
                    ),
                })?;
                used.insert(name);
                out.push_str(value);
            }
        }
    }
    out.push('\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OBJECTS_TWO: &str = "\
defaults:
  concurrency: 5
objects:
  - { entity: customer, domain: customers, stem: Customers, function: customer-sync, title: customers }
  - { entity: sales_order, domain: sales-orders, stem: SalesOrders, function: sales-order-sync, title: sales orders, concurrency: 2 }
";

    fn two() -> Vec<Object> {
        parse_objects(OBJECTS_TWO).unwrap()
    }

    fn body(rendered: &str) -> &str {
        rendered.strip_prefix(&header()).unwrap()
    }

    #[test]
    fn sections_repeat_for_each_object_where_the_base_says() {
        // Scenario: each `#@each` marker becomes its section once per object, in objects.yaml's
        // order, fields filled in (defaults where an object sets none); notes are left out.
        let base = "#@ A note about base.yaml.\nResources:\n#@each queue\n  Table: {}\n";
        let object = "#@ The queue.\n#@section queue\n  # {{title}}\n  {{stem}}Queue: {Name: {{domain}}, N: {{concurrency}}, E: {{entity}}, F: {{function}}}\n";
        let out = render_with(base, object, &two()).unwrap();
        assert_eq!(
            body(&out),
            "Resources:\n  # customers\n  CustomersQueue: {Name: customers, N: 5, E: customer, F: customer-sync}\n  # sales orders\n  SalesOrdersQueue: {Name: sales-orders, N: 2, E: sales_order, F: sales-order-sync}\n  Table: {}\n"
        );
        assert!(out.starts_with("# Generated from infra/template/"));
        assert!(out.contains(COMMAND));
    }

    #[test]
    fn cloudformation_braces_are_text() {
        // Scenario: `${…}` next to a placeholder, and `{{resolve:…}}`, stay as written; `{{comma}}`
        // separates JSON list entries.
        let base = "X: |\n  [\n#@each m\n  ]\nY: '{{resolve:ssm:p}}'\n";
        let object = "#@section m\n  \"${{{stem}}DLQ.QueueName}\"{{comma}}\n#@section e\n{{entity}}{{function}}{{title}}{{domain}}{{concurrency}}\n";
        let base = format!("{base}#@each e\n");
        let out = render_with(&base, object, &two()).unwrap();
        assert!(
            body(&out).starts_with(
                "X: |\n  [\n  \"${CustomersDLQ.QueueName}\",\n  \"${SalesOrdersDLQ.QueueName}\"\n  ]\nY: '{{resolve:ssm:p}}'\n"
            ),
            "{out}"
        );
        assert_eq!(
            pieces("a{{{b}}c{{x:y}}"),
            vec![
                Piece::Text("a{"),
                Piece::Field("b"),
                Piece::Text("c{{x:y}}")
            ]
        );
    }

    #[test]
    fn mistakes_in_the_definition_fail_with_file_and_line() {
        // Scenario: unknown sections, directives and fields, placeholders in base.yaml, text
        // before the first section, and unused sections and fields are errors, not output.
        let objects = two();
        let one_field =
            "#@section s\n{{entity}}{{domain}}{{stem}}{{function}}{{title}}{{concurrency}}\n";
        let cases: &[(&str, &str, &str)] = &[
            (
                "#@each nope\n",
                one_field,
                "base.yaml:1: object.yaml has no section \"nope\"",
            ),
            (
                "#@every s\n",
                one_field,
                "base.yaml:1: unknown directive #@every",
            ),
            (
                "a: {{stem}}\n#@each s\n",
                one_field,
                "base.yaml:1: {{stem}} outside a section of object.yaml",
            ),
            (
                "#@each s\n",
                "#@section s\n{{colour}}\n",
                "object.yaml:2: {{colour}}: Customers has no field colour (set it in objects.yaml, or give it a default there)",
            ),
            (
                "#@each s\n",
                "x\n#@section s\n",
                "object.yaml:1: text before the first #@section (notes are `#@ …` lines)",
            ),
            (
                "#@each s\n",
                "#@section s\n#@each s\n",
                "object.yaml:2: #@each belongs in base.yaml",
            ),
            (
                "#@each s\n",
                "#@section s\n#@section s\n",
                "object.yaml:2: section s is defined twice",
            ),
            (
                "#@each s\n",
                &format!("{one_field}#@section t\n"),
                "object.yaml: section t (no #@each t in base.yaml) is never used",
            ),
            (
                "#@each s\n",
                "#@section s\n{{entity}}{{domain}}{{stem}}{{function}}{{title}}\n",
                "objects.yaml: field concurrency (no {{concurrency}} in object.yaml) is never used",
            ),
        ];
        for (base, object, expected) in cases {
            let err = render_with(base, object, &objects).unwrap_err();
            assert_eq!(err.to_string(), *expected, "{base:?} {object:?}");
        }
    }

    #[test]
    fn objects_yaml_is_checked() {
        // Scenario: missing or malformed required fields, duplicates, nested values and unknown
        // keys are refused with the object and field named.
        let ok = "{ entity: customer, domain: customers, stem: Customers, function: customer-sync, title: customers }";
        let cases = [
            ("objects: []", "objects.yaml: `objects` lists no object"),
            (
                "objekts: []",
                "objects.yaml: unknown key objekts (objects, defaults)",
            ),
            (
                "objects:\n  - { entity: customer }",
                "objects.yaml: objects[0] has no domain, queue and redrive names, the `domain` metric dimension (customers, sales-orders)",
            ),
            (
                "objects:\n  - { entity: customer, domain: customers, stem: customers, function: customer-sync, title: customers }",
                "objects.yaml: customers: stem \"customers\" must be an upper case letter, then letters and digits (a logical-id stem)",
            ),
            (
                "objects:\n  - { entity: Customer, domain: customers, stem: Customers, function: customer-sync, title: customers }",
                "objects.yaml: Customers: entity \"Customer\" must be lower case letters, digits and _",
            ),
            (
                &format!("objects:\n  - {ok}\n  - {ok}"),
                "objects.yaml: Customers: entity \"customer\" is also Customers's",
            ),
            (
                &format!("defaults: {{ limits: [1] }}\nobjects:\n  - {ok}"),
                "objects.yaml: defaults: limits must be a string, number or boolean",
            ),
            (
                &format!("defaults: {{ comma: x }}\nobjects:\n  - {ok}"),
                "objects.yaml: defaults: {{comma}} is the generator's own",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_objects(text).unwrap_err();
            assert_eq!(err.to_string(), expected, "{text}");
        }
        let objects = parse_objects(&format!("objects:\n  - {ok}")).unwrap();
        assert_eq!(objects[0].stem(), "Customers");
        assert_eq!(objects[0].function(), "customer-sync");
        assert_eq!(objects[0].fields().count(), 5);
    }
}
