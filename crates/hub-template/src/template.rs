//! The parsed template.
//!
//! On load, YAML short forms become the long JSON forms CloudFormation documents
//! (`!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` →
//! `{"Fn::Sub": s}`, …), so resolution has one form to handle, and a JSON template loads too.

use crate::error::TemplateError;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Short-form tags that map to `Fn::<Name>`.
const FN_TAGS: &[&str] = &[
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "ToJsonString",
    "Length",
];

/// A template parameter (`Parameters.<Name>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// `Type`: `String`, `Number`, `CommaDelimitedList`, `List<Number>`.
    pub kind: String,
    /// `Default`, as a string.
    pub default: Option<String>,
    /// `AllowedValues`.
    pub allowed_values: Vec<String>,
    /// `MinValue` (Number).
    pub min_value: Option<f64>,
    /// `MaxValue` (Number).
    pub max_value: Option<f64>,
    /// `MinLength` (String).
    pub min_length: Option<usize>,
    /// `MaxLength` (String).
    pub max_length: Option<usize>,
}

/// A resource (`Resources.<LogicalId>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The logical id.
    pub logical_id: String,
    /// `Type`, e.g. `AWS::SQS::Queue`.
    pub kind: String,
    /// `Properties`, unresolved (long-form intrinsics).
    pub properties: Map<String, Value>,
    /// `DependsOn`.
    pub depends_on: Vec<String>,
    /// `Condition`: the resource exists only when this condition holds.
    pub condition: Option<String>,
    /// `Metadata` (e.g. SAM's `BuildMethod` and `BuildProperties.Binary`), unresolved.
    pub metadata: Map<String, Value>,
    /// `DeletionPolicy` (`Retain`, `Snapshot`, `Delete`), if set.
    pub deletion_policy: Option<String>,
    /// `UpdateReplacePolicy`, if set.
    pub update_replace_policy: Option<String>,
}

/// A parsed SAM / CloudFormation template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `Parameters`, in template order.
    pub parameters: Vec<(String, Parameter)>,
    /// `Conditions`, unevaluated.
    pub conditions: Map<String, Value>,
    /// `Rules`: parameter checks CloudFormation makes before it creates anything, unevaluated
    /// (`Context::new` evaluates them).
    pub rules: Map<String, Value>,
    /// `Mappings`.
    pub mappings: Map<String, Value>,
    /// SAM `Globals` (e.g. `Globals.Function.Timeout`).
    pub globals: Map<String, Value>,
    /// `Resources`, in template order.
    pub resources: Vec<Resource>,
    /// `Outputs`, unresolved.
    pub outputs: Map<String, Value>,
}

impl Template {
    /// Reads and parses a template file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Template, TemplateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Template::parse(&text)
    }

    /// Parses template text (YAML with CloudFormation tags, or JSON).
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let yaml: serde_norway::Value = serde_norway::from_str(text)?;
        let root = to_json(yaml, "")?;
        let Value::Object(mut root) = root else {
            return Err(TemplateError::malformed("", "a template is a mapping"));
        };
        let mut section = |name: &str| -> Result<Map<String, Value>, TemplateError> {
            match root.remove(name) {
                None | Some(Value::Null) => Ok(Map::new()),
                Some(Value::Object(m)) => Ok(m),
                Some(_) => Err(TemplateError::malformed(name, "must be a mapping")),
            }
        };
        let parameters = section("Parameters")?
            .into_iter()
            .map(|(name, v)| {
                let p = parse_parameter(&name, v)?;
                Ok((name, p))
            })
            .collect::<Result<Vec<_>, TemplateError>>()?;
        let conditions = section("Conditions")?;
        let rules = section("Rules")?;
        let mappings = section("Mappings")?;
        let globals = section("Globals")?;
        let outputs = section("Outputs")?;
        let mut resources = section("Resources")?
            .into_iter()
            .map(|(id, v)| parse_resource(id, v))
            .collect::<Result<Vec<_>, _>>()?;
        add_implicit_roles(&mut resources);
        if resources.is_empty() {
            return Err(TemplateError::malformed(
                "Resources",
                "a template needs at least one resource",
            ));
        }
        let template = Template {
            parameters,
            conditions,
            rules,
            mappings,
            globals,
            resources,
            outputs,
        };
        template.check_references()?;
        Ok(template)
    }

    /// The resource with this logical id.
    pub fn resource(&self, logical_id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.logical_id == logical_id)
    }

    /// The environment variables of a SAM function: `Globals.Function.Environment.Variables`
    /// overlaid with the function's own, unresolved.
    pub fn function_environment(&self, logical_id: &str) -> Map<String, Value> {
        let vars = |v: Option<&Value>| {
            v.and_then(|e| e.get("Environment"))
                .and_then(|e| e.get("Variables"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let mut out = vars(self.globals.get("Function"));
        let own = self
            .resource(logical_id)
            .map(|r| Value::Object(r.properties.clone()));
        out.extend(vars(own.as_ref()));
        out
    }

    /// The parameter with this name.
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    /// The resources of one type, in template order.
    pub fn resources_of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Resource> {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    /// A property of a SAM function, falling back to `Globals.Function` as SAM does.
    pub fn function_property(&self, logical_id: &str, property: &str) -> Option<&Value> {
        self.resource(logical_id)
            .and_then(|r| r.properties.get(property))
            .or_else(|| self.globals.get("Function").and_then(|f| f.get(property)))
    }

    /// The names a resource refers to (`Ref`, `Fn::GetAtt`, `${}` in `Fn::Sub`, `DependsOn`):
    /// resources, parameters and pseudo parameters alike.
    pub fn references(&self, logical_id: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        if let Some(r) = self.resource(logical_id) {
            collect_references(&Value::Object(r.properties.clone()), &mut names);
            names.extend(r.depends_on.iter().cloned());
        }
        names
    }

    /// Logical ids in an order where every resource comes after those it references (`Ref`,
    /// `Fn::GetAtt`, `${}` in `Fn::Sub`) or names in `DependsOn`; template order otherwise.
    pub fn creation_order(&self) -> Result<Vec<&str>, TemplateError> {
        let index: HashMap<&str, usize> = self
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.logical_id.as_str(), i))
            .collect();
        let deps: Vec<BTreeSet<usize>> = self
            .resources
            .iter()
            .map(|r| {
                let mut names = BTreeSet::new();
                collect_references(&Value::Object(r.properties.clone()), &mut names);
                names.extend(r.depends_on.iter().cloned());
                names
                    .iter()
                    .filter_map(|n| index.get(n.as_str()).copied())
                    .collect()
            })
            .collect();
        // Depth-first topological sort, visiting in template order.
        let mut state = vec![0u8; self.resources.len()]; // 0 new, 1 on stack, 2 done
        let mut order = Vec::with_capacity(self.resources.len());
        fn visit<'t>(
            i: usize,
            t: &'t Template,
            deps: &[BTreeSet<usize>],
            state: &mut [u8],
            order: &mut Vec<&'t str>,
            stack: &mut Vec<usize>,
        ) -> Result<(), TemplateError> {
            match state[i] {
                2 => return Ok(()),
                1 => {
                    let start = stack.iter().position(|&s| s == i).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[start..]
                        .iter()
                        .map(|&s| t.resources[s].logical_id.clone())
                        .collect();
                    cycle.push(t.resources[i].logical_id.clone());
                    return Err(TemplateError::Cycle(cycle));
                }
                _ => {}
            }
            state[i] = 1;
            stack.push(i);
            for &d in &deps[i] {
                visit(d, t, deps, state, order, stack)?;
            }
            stack.pop();
            state[i] = 2;
            order.push(&t.resources[i].logical_id);
            Ok(())
        }
        let mut stack = Vec::new();
        for i in 0..self.resources.len() {
            visit(i, self, &deps, &mut state, &mut order, &mut stack)?;
        }
        Ok(order)
    }

    /// Fails on `DependsOn` and `Condition` names that do not exist.
    fn check_references(&self) -> Result<(), TemplateError> {
        for r in &self.resources {
            for d in &r.depends_on {
                if self.resource(d).is_none() {
                    return Err(TemplateError::UnknownReference {
                        path: format!("Resources.{}.DependsOn", r.logical_id),
                        name: d.clone(),
                    });
                }
            }
            if let Some(c) = &r.condition
                && !self.conditions.contains_key(c)
            {
                return Err(TemplateError::UnknownCondition {
                    path: format!("Resources.{}.Condition", r.logical_id),
                    name: c.clone(),
                });
            }
        }
        Ok(())
    }
}

/// SAM's transform gives every `AWS::Serverless::Function` without a `Role` an execution role
/// named `<LogicalId>Role`, which the template may reference (`!GetAtt KafkaBridgeRole.Arn`, in
/// a topic policy for instance). They are added here, with the function's condition, so that
/// such references resolve as they do after the transform.
fn add_implicit_roles(resources: &mut Vec<Resource>) {
    let implicit: Vec<Resource> = resources
        .iter()
        .filter(|r| r.kind == "AWS::Serverless::Function" && !r.properties.contains_key("Role"))
        .map(|f| Resource {
            logical_id: format!("{}Role", f.logical_id),
            kind: "AWS::IAM::Role".to_string(),
            properties: Map::new(),
            depends_on: vec![],
            condition: f.condition.clone(),
            metadata: Map::from_iter([(
                "ImplicitFrom".to_string(),
                Value::String(f.logical_id.clone()),
            )]),
            deletion_policy: None,
            update_replace_policy: None,
        })
        .filter(|role| !resources.iter().any(|r| r.logical_id == role.logical_id))
        .collect();
    resources.extend(implicit);
}

/// Collects the names used by `Ref`, `Fn::GetAtt` and `Fn::Sub` anywhere in `v`.
pub(crate) fn collect_references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(name)) = m.get("Ref") {
                    out.insert(name.clone());
                    return;
                }
                if let Some(Value::Array(a)) = m.get("Fn::GetAtt")
                    && let Some(Value::String(name)) = a.first()
                {
                    out.insert(name.clone());
                    return;
                }
                if let Some(sub) = m.get("Fn::Sub") {
                    let (text, vars) = match sub {
                        Value::String(s) => (Some(s.as_str()), None),
                        Value::Array(a) => (a.first().and_then(Value::as_str), a.get(1)),
                        _ => (None, None),
                    };
                    if let Some(text) = text {
                        for piece in crate::resolve::sub_pieces(text) {
                            if let crate::resolve::SubPiece::Var(var) = piece {
                                let explicit = vars
                                    .and_then(Value::as_object)
                                    .is_some_and(|m| m.contains_key(var));
                                if !explicit {
                                    let name = var.split('.').next().unwrap_or(var);
                                    out.insert(name.to_string());
                                }
                            }
                        }
                    }
                    if let Some(vars) = vars {
                        collect_references(vars, out);
                    }
                    return;
                }
            }
            for v in m.values() {
                collect_references(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

fn parse_parameter(name: &str, v: Value) -> Result<Parameter, TemplateError> {
    let path = format!("Parameters.{name}");
    let Value::Object(m) = v else {
        return Err(TemplateError::malformed(&path, "must be a mapping"));
    };
    let kind = m
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| TemplateError::malformed(&path, "needs a Type"))?
        .to_string();
    let as_string = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let num = |key: &str| m.get(key).and_then(|v| as_string(v)?.parse::<f64>().ok());
    let len = |key: &str| m.get(key).and_then(|v| as_string(v)?.parse::<usize>().ok());
    Ok(Parameter {
        default: m.get("Default").and_then(as_string),
        allowed_values: m
            .get("AllowedValues")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(as_string).collect())
            .unwrap_or_default(),
        min_value: num("MinValue"),
        max_value: num("MaxValue"),
        min_length: len("MinLength"),
        max_length: len("MaxLength"),
        kind,
    })
}

fn parse_resource(logical_id: String, v: Value) -> Result<Resource, TemplateError> {
    let path = format!("Resources.{logical_id}");
    let Value::Object(mut m) = v else {
        return Err(TemplateError::malformed(&path, "must be a mapping"));
    };
    let kind = match m.remove("Type") {
        Some(Value::String(s)) => s,
        _ => return Err(TemplateError::malformed(&path, "needs a Type")),
    };
    let properties = match m.remove("Properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(TemplateError::malformed(
                &format!("{path}.Properties"),
                "must be a mapping",
            ));
        }
    };
    let depends_on = match m.remove("DependsOn") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(TemplateError::malformed(
                    &format!("{path}.DependsOn"),
                    "must name resources",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(TemplateError::malformed(
                &format!("{path}.DependsOn"),
                "must name resources",
            ));
        }
    };
    let metadata = match m.remove("Metadata") {
        Some(Value::Object(md)) => md,
        _ => Map::new(),
    };
    let condition = match m.remove("Condition") {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(TemplateError::malformed(
                &format!("{path}.Condition"),
                "must name a condition",
            ));
        }
    };
    let mut policy = |name: &str| match m.remove(name) {
        None => Ok(None),
        Some(Value::String(s))
            if ["Retain", "Snapshot", "Delete", "RetainExceptOnCreate"].contains(&s.as_str()) =>
        {
            Ok(Some(s))
        }
        Some(_) => Err(TemplateError::malformed(
            &format!("{path}.{name}"),
            "must be Retain, Snapshot, Delete or RetainExceptOnCreate",
        )),
    };
    let deletion_policy = policy("DeletionPolicy")?;
    let update_replace_policy = policy("UpdateReplacePolicy")?;
    Ok(Resource {
        logical_id,
        kind,
        properties,
        depends_on,
        condition,
        metadata,
        deletion_policy,
        update_replace_policy,
    })
}

/// Converts YAML to JSON, normalising CloudFormation short-form tags to long form.
fn to_json(v: serde_norway::Value, path: &str) -> Result<Value, TemplateError> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| TemplateError::malformed(path, "number is not finite"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(
            seq.into_iter()
                .enumerate()
                .map(|(i, v)| to_json(v, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => {
                        return Err(TemplateError::malformed(
                            path,
                            "mapping keys must be scalars",
                        ));
                    }
                };
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                out.insert(key, to_json(v, &child)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!').to_string();
            let inner = to_json(tagged.value, path)?;
            let (key, value) = match tag.as_str() {
                "Ref" => ("Ref".to_string(), inner),
                "Condition" => ("Condition".to_string(), inner),
                "GetAtt" => {
                    let value = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((res, attr)) => Value::Array(vec![res.into(), attr.into()]),
                            None => {
                                return Err(TemplateError::malformed(
                                    path,
                                    format!("!GetAtt {s} needs Resource.Attribute"),
                                ));
                            }
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_string(), value)
                }
                t if FN_TAGS.contains(&t) => (format!("Fn::{t}"), inner),
                _ => {
                    return Err(TemplateError::UnknownTag {
                        path: path.to_string(),
                        tag,
                    });
                }
            };
            let mut m = Map::new();
            m.insert(key, value);
            Value::Object(m)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SMALL: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Env: { Type: String, Default: dev, AllowedValues: [dev, prod] }
Globals:
  Function: { Timeout: 30 }
Resources:
  Sub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Endpoint: !GetAtt Queue.Arn
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-q-${Env}"
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt [Dlq, Arn]
        maxReceiveCount: 3
  Dlq:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
    DependsOn: Dlq
  Fn:
    Type: AWS::Serverless::Function
    Properties: { MemorySize: 256 }
"#;

    #[test]
    fn short_forms_become_long_forms() {
        // Scenario: !Ref, !GetAtt (dotted and list) and !Sub load as their JSON long forms.
        let t = Template::parse(SMALL).unwrap();
        let sub = t.resource("Sub").unwrap();
        assert_eq!(sub.properties["TopicArn"], json!({"Ref": "Topic"}));
        assert_eq!(
            sub.properties["Endpoint"],
            json!({"Fn::GetAtt": ["Queue", "Arn"]})
        );
        let q = t.resource("Queue").unwrap();
        assert_eq!(
            q.properties["QueueName"],
            json!({"Fn::Sub": "${AWS::StackName}-q-${Env}"})
        );
        assert_eq!(
            q.properties["RedrivePolicy"]["deadLetterTargetArn"],
            json!({"Fn::GetAtt": ["Dlq", "Arn"]})
        );
        assert_eq!(
            t.parameter("Env").unwrap().allowed_values,
            vec!["dev", "prod"]
        );
    }

    #[test]
    fn creation_order_follows_references() {
        // Scenario: a resource is created after everything it references or depends on.
        let t = Template::parse(SMALL).unwrap();
        let order = t.creation_order().unwrap();
        let pos = |id: &str| order.iter().position(|o| *o == id).unwrap();
        assert!(pos("Dlq") < pos("Queue"));
        assert!(pos("Queue") < pos("Sub"));
        assert!(pos("Topic") < pos("Sub"));
        assert!(pos("Dlq") < pos("Topic"));
        // The four resources and SAM's implicit role of the function.
        assert_eq!(order.len(), 6);
        assert_eq!(
            t.resource("FnRole").map(|r| r.kind.as_str()),
            Some("AWS::IAM::Role")
        );
    }

    #[test]
    fn cycles_are_reported() {
        // Scenario: two resources referencing each other cannot be ordered.
        let t = Template::parse(
            "Resources:\n  A: {Type: X, Properties: {P: !Ref B}}\n  B: {Type: X, Properties: {P: !GetAtt A.Arn}}\n",
        )
        .unwrap();
        let err = t.creation_order().unwrap_err();
        assert!(
            matches!(err, TemplateError::Cycle(ref c) if c.len() == 3),
            "{err}"
        );
    }

    #[test]
    fn globals_apply_to_functions() {
        // Scenario: a function without Timeout takes Globals.Function.Timeout; its own value wins.
        let t = Template::parse(SMALL).unwrap();
        assert_eq!(t.function_property("Fn", "Timeout"), Some(&json!(30)));
        assert_eq!(t.function_property("Fn", "MemorySize"), Some(&json!(256)));
    }

    #[test]
    fn unknown_tags_fail_with_their_path() {
        // Scenario: a tag that is no intrinsic function is rejected, naming where it stands.
        let err =
            Template::parse("Resources:\n  A:\n    Type: X\n    Properties:\n      P: !Bogus x\n")
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Resources.A.Properties.P: unknown tag !Bogus"
        );
    }

    #[test]
    fn bad_depends_on_and_condition_fail() {
        // Scenario: DependsOn and Condition must name things the template defines.
        let err = Template::parse("Resources:\n  A: {Type: X, DependsOn: Nope}\n").unwrap_err();
        assert!(
            err.to_string().contains("unresolved reference to Nope"),
            "{err}"
        );
        let err = Template::parse("Resources:\n  A: {Type: X, Condition: Nope}\n").unwrap_err();
        assert!(err.to_string().contains("unknown condition Nope"), "{err}");
    }

    #[test]
    fn not_a_template_fails() {
        // Scenario: text without resources, or not YAML at all, is a clear error.
        assert!(Template::parse("just text").is_err());
        assert!(Template::parse("Resources: {}").is_err());
        assert!(Template::parse("Resources: [1").is_err());
    }
}
