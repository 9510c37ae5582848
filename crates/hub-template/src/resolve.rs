//! Resolution of intrinsic functions, as CloudFormation does it at deploy time.
//!
//! A [`Context`] is built from the template, the stack's identity ([`Stack`]) and parameter
//! overrides; parameter values are validated then. As resources are created their physical ids
//! are recorded with [`Context::set_physical`], and later resources resolve against them.

use crate::error::TemplateError;
use crate::template::Template;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// The identity of the stack: what the pseudo parameters resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// `AWS::StackName`.
    pub name: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account_id: String,
    /// `AWS::Partition` (`aws`).
    pub partition: String,
}

impl Stack {
    /// A stack in the standard `aws` partition.
    pub fn new(name: &str, region: &str, account_id: &str) -> Stack {
        Stack {
            name: name.to_string(),
            region: region.to_string(),
            account_id: account_id.to_string(),
            partition: "aws".to_string(),
        }
    }

    /// `AWS::StackId`, shaped as CloudFormation's.
    pub fn stack_id(&self) -> String {
        format!(
            "arn:{}:cloudformation:{}:{}:stack/{}/local",
            self.partition, self.region, self.account_id, self.name
        )
    }
}

/// What a created resource resolves to: `Ref` gives `reference`, `Fn::GetAtt` looks up
/// `attributes`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Physical {
    /// The value of `Ref` (a queue URL, a topic ARN, a table name…).
    pub reference: String,
    /// The values of `Fn::GetAtt` by attribute name (`Arn`, `QueueName`, `StreamArn`…).
    pub attributes: BTreeMap<String, Value>,
}

/// Parameter values, pseudo parameters, condition values and physical ids: everything needed to
/// resolve the template.
#[derive(Debug, Clone)]
pub struct Context<'t> {
    template: &'t Template,
    stack: Stack,
    parameters: HashMap<String, Value>,
    physical: HashMap<String, Physical>,
}

/// A piece of a `Fn::Sub` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubPiece<'a> {
    Text(&'a str),
    /// `${!Literal}` → `${Literal}`.
    Literal(&'a str),
    Var(&'a str),
}

/// Splits a `Fn::Sub` string into text, literals and variables. An unterminated `${` is text.
pub(crate) fn sub_pieces(s: &str) -> Vec<SubPiece<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        if start > 0 {
            out.push(SubPiece::Text(&rest[..start]));
        }
        let inner = &rest[start + 2..start + len];
        if let Some(lit) = inner.strip_prefix('!') {
            out.push(SubPiece::Literal(lit));
        } else {
            out.push(SubPiece::Var(inner.trim()));
        }
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push(SubPiece::Text(rest));
    }
    out
}

impl<'t> Context<'t> {
    /// A context for `template` deployed as `stack`, with `overrides` for parameters.
    /// Fails on undeclared names, missing values and values that break a parameter's constraints.
    pub fn new(
        template: &'t Template,
        stack: Stack,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Context<'t>, TemplateError> {
        for name in overrides.keys() {
            if template.parameter(name).is_none() {
                return Err(TemplateError::UndeclaredParameter(name.clone()));
            }
        }
        let mut parameters = HashMap::new();
        for (name, p) in &template.parameters {
            let value = overrides
                .get(name)
                .cloned()
                .or_else(|| p.default.clone())
                .ok_or_else(|| TemplateError::MissingParameter(name.clone()))?;
            let invalid = |reason: String| TemplateError::InvalidParameter {
                name: name.clone(),
                value: value.clone(),
                reason,
            };
            if !p.allowed_values.is_empty() && !p.allowed_values.contains(&value) {
                return Err(invalid(format!(
                    "is not one of {}",
                    p.allowed_values.join(", ")
                )));
            }
            let resolved = match p.kind.as_str() {
                "String" => {
                    let n = value.chars().count();
                    if p.min_length.is_some_and(|m| n < m) || p.max_length.is_some_and(|m| n > m) {
                        return Err(invalid("has a length outside MinLength..MaxLength".into()));
                    }
                    Value::String(value.clone())
                }
                "Number" => {
                    let x: f64 = value
                        .parse()
                        .map_err(|_| invalid("is not a number".into()))?;
                    if p.min_value.is_some_and(|m| x < m) || p.max_value.is_some_and(|m| x > m) {
                        return Err(invalid("is outside MinValue..MaxValue".into()));
                    }
                    // CloudFormation hands Number parameters to properties as strings.
                    Value::String(value.clone())
                }
                "CommaDelimitedList" | "List<Number>" => Value::Array(
                    value
                        .split(',')
                        .map(|s| Value::String(s.trim().to_string()))
                        .collect(),
                ),
                other => {
                    return Err(invalid(format!(
                        "has type {other}, which the local resolver does not support"
                    )));
                }
            };
            parameters.insert(name.clone(), resolved);
        }
        let ctx = Context {
            template,
            stack,
            parameters,
            physical: HashMap::new(),
        };
        ctx.check_rules()?;
        Ok(ctx)
    }

    /// Evaluates the template's `Rules` as CloudFormation does before it creates anything: for
    /// each rule whose `RuleCondition` holds (or that has none), every `Assert` must hold.
    fn check_rules(&self) -> Result<(), TemplateError> {
        for (name, rule) in &self.template.rules {
            let path = format!("Rules.{name}");
            if let Some(c) = rule.get("RuleCondition")
                && !self.eval_condition(c, &format!("{path}.RuleCondition"), 0)?
            {
                continue;
            }
            let assertions = rule
                .get("Assertions")
                .and_then(Value::as_array)
                .ok_or_else(|| TemplateError::malformed(&path, "needs a list of Assertions"))?;
            for (i, a) in assertions.iter().enumerate() {
                let at = format!("{path}.Assertions[{i}]");
                let assert = a
                    .get("Assert")
                    .ok_or_else(|| TemplateError::malformed(&at, "needs an Assert"))?;
                if !self.eval_condition(assert, &format!("{at}.Assert"), 0)? {
                    return Err(TemplateError::RuleFailed {
                        rule: name.clone(),
                        description: a
                            .get("AssertDescription")
                            .and_then(Value::as_str)
                            .unwrap_or("an assertion does not hold")
                            .to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The template this context resolves.
    pub fn template(&self) -> &'t Template {
        self.template
    }

    /// The stack identity.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// Records what a created resource resolves to.
    pub fn set_physical(&mut self, logical_id: &str, physical: Physical) {
        self.physical.insert(logical_id.to_string(), physical);
    }

    /// What a created resource resolves to, if it was recorded.
    pub fn physical(&self, logical_id: &str) -> Option<&Physical> {
        self.physical.get(logical_id)
    }

    /// The value of a parameter (a string, or an array for list types).
    pub fn parameter(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name)
    }

    /// Whether the resource exists under the template's conditions.
    pub fn is_active(&self, logical_id: &str) -> Result<bool, TemplateError> {
        match self
            .template
            .resource(logical_id)
            .and_then(|r| r.condition.as_deref())
        {
            None => Ok(true),
            Some(c) => self.condition(c, &format!("Resources.{logical_id}.Condition")),
        }
    }

    /// Evaluates a named condition of the `Conditions` section.
    pub fn condition(&self, name: &str, path: &str) -> Result<bool, TemplateError> {
        self.condition_depth(name, path, 0)
    }

    fn condition_depth(&self, name: &str, path: &str, depth: usize) -> Result<bool, TemplateError> {
        let expr =
            self.template
                .conditions
                .get(name)
                .ok_or_else(|| TemplateError::UnknownCondition {
                    path: path.to_string(),
                    name: name.to_string(),
                })?;
        if depth > 32 {
            return Err(TemplateError::malformed(
                &format!("Conditions.{name}"),
                "conditions refer to each other in a circle",
            ));
        }
        self.eval_condition(expr, &format!("Conditions.{name}"), depth + 1)
    }

    fn eval_condition(
        &self,
        expr: &Value,
        path: &str,
        depth: usize,
    ) -> Result<bool, TemplateError> {
        let Some((func, arg)) = single_key(expr) else {
            return match expr {
                Value::Bool(b) => Ok(*b),
                _ => Err(TemplateError::malformed(
                    path,
                    "a condition must be a function",
                )),
            };
        };
        let list = |n: usize| -> Result<&Vec<Value>, TemplateError> {
            match arg {
                Value::Array(a) if n == 0 || a.len() == n => Ok(a),
                _ => Err(TemplateError::malformed(
                    path,
                    format!("{func} takes a list of {n}"),
                )),
            }
        };
        match func {
            "Condition" => {
                let name = arg
                    .as_str()
                    .ok_or_else(|| TemplateError::malformed(path, "Condition takes a name"))?;
                self.condition_depth(name, path, depth)
            }
            "Fn::Equals" => {
                let a = list(2)?;
                let l = self.resolve_required(&a[0], path)?;
                let r = self.resolve_required(&a[1], path)?;
                Ok(scalar_string(&l) == scalar_string(&r))
            }
            "Fn::Not" => Ok(!self.eval_condition(&list(1)?[0], path, depth)?),
            "Fn::And" | "Fn::Or" => {
                let a = list(0)?;
                if a.len() < 2 || a.len() > 10 {
                    return Err(TemplateError::malformed(
                        path,
                        format!("{func} takes 2 to 10 conditions"),
                    ));
                }
                let mut values = a.iter().map(|c| self.eval_condition(c, path, depth));
                if func == "Fn::And" {
                    values.try_fold(true, |acc, v| Ok(acc && v?))
                } else {
                    values.try_fold(false, |acc, v| Ok(acc || v?))
                }
            }
            other => Err(TemplateError::malformed(
                path,
                format!("{other} cannot be used as a condition"),
            )),
        }
    }

    /// The environment variables of function `logical_id` (Globals merged), resolved, as the
    /// deployed function sees them (non-string values in their JSON form).
    pub fn function_environment(
        &self,
        logical_id: &str,
    ) -> Result<Vec<(String, String)>, TemplateError> {
        let mut out = Vec::new();
        for (k, v) in self.template.function_environment(logical_id) {
            let v =
                self.resolve_required(&v, &format!("Resources.{logical_id}.Environment.{k}"))?;
            out.push((
                k,
                match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
            ));
        }
        Ok(out)
    }

    /// Resolves a value that must not vanish through `AWS::NoValue`.
    pub fn resolve_required(&self, v: &Value, path: &str) -> Result<Value, TemplateError> {
        self.resolve(v, path)?
            .ok_or_else(|| TemplateError::malformed(path, "resolves to AWS::NoValue"))
    }

    /// Resolves every intrinsic function in `v`. `None` means `AWS::NoValue`: the property is
    /// to be left out.
    pub fn resolve(&self, v: &Value, path: &str) -> Result<Option<Value>, TemplateError> {
        match v {
            Value::Object(m) => {
                if let Some((func, arg)) = single_key(v)
                    && (func == "Ref" || func.starts_with("Fn::"))
                {
                    return self.intrinsic(func, arg, path);
                }
                let mut out = Map::new();
                for (k, v) in m {
                    if let Some(r) = self.resolve(v, &format!("{path}.{k}"))? {
                        out.insert(k.clone(), r);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for (i, v) in a.iter().enumerate() {
                    if let Some(r) = self.resolve(v, &format!("{path}[{i}]"))? {
                        out.push(r);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// Resolves all properties of a resource.
    pub fn resolve_properties(
        &self,
        logical_id: &str,
    ) -> Result<Map<String, Value>, TemplateError> {
        let r =
            self.template
                .resource(logical_id)
                .ok_or_else(|| TemplateError::UnknownReference {
                    path: "Resources".into(),
                    name: logical_id.to_string(),
                })?;
        let path = format!("Resources.{logical_id}.Properties");
        match self.resolve(&Value::Object(r.properties.clone()), &path)? {
            Some(Value::Object(m)) => Ok(m),
            _ => Ok(Map::new()),
        }
    }

    /// Resolves the `Outputs` section to name → value (outputs whose condition is false are
    /// left out).
    pub fn resolve_outputs(&self) -> Result<BTreeMap<String, Value>, TemplateError> {
        let mut out = BTreeMap::new();
        for (name, o) in &self.template.outputs {
            let path = format!("Outputs.{name}");
            if let Some(c) = o.get("Condition").and_then(Value::as_str)
                && !self.condition(c, &path)?
            {
                continue;
            }
            let v = o
                .get("Value")
                .ok_or_else(|| TemplateError::malformed(&path, "needs a Value"))?;
            out.insert(
                name.clone(),
                self.resolve_required(v, &format!("{path}.Value"))?,
            );
        }
        Ok(out)
    }

    fn intrinsic(
        &self,
        func: &str,
        arg: &Value,
        path: &str,
    ) -> Result<Option<Value>, TemplateError> {
        let path = &format!("{path}.{func}");
        match func {
            "Ref" => {
                let name = arg
                    .as_str()
                    .ok_or_else(|| TemplateError::malformed(path, "Ref takes a name"))?;
                self.reference(name, path)
            }
            "Fn::GetAtt" => {
                let (res, attr) = match arg {
                    Value::Array(a) if a.len() == 2 => {
                        let res = a[0].as_str().ok_or_else(|| {
                            TemplateError::malformed(path, "takes [Resource, Attribute]")
                        })?;
                        let attr = self.resolve_required(&a[1], path)?;
                        let attr = attr.as_str().map(str::to_string).ok_or_else(|| {
                            TemplateError::malformed(path, "the attribute must be a string")
                        })?;
                        (res.to_string(), attr)
                    }
                    _ => {
                        return Err(TemplateError::malformed(
                            path,
                            "takes [Resource, Attribute]",
                        ));
                    }
                };
                self.get_att(&res, &attr, path).map(Some)
            }
            "Fn::Sub" => {
                let (text, vars) = match arg {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str().ok_or_else(|| {
                            TemplateError::malformed(path, "takes a string or [string, {vars}]")
                        })?,
                        Some(a[1].as_object().ok_or_else(|| {
                            TemplateError::malformed(path, "the variables must be a mapping")
                        })?),
                    ),
                    _ => {
                        return Err(TemplateError::malformed(
                            path,
                            "takes a string or [string, {vars}]",
                        ));
                    }
                };
                let mut out = String::with_capacity(text.len());
                for piece in sub_pieces(text) {
                    match piece {
                        SubPiece::Text(t) => out.push_str(t),
                        SubPiece::Literal(l) => {
                            out.push_str("${");
                            out.push_str(l);
                            out.push('}');
                        }
                        SubPiece::Var(var) => {
                            let value = if let Some(v) = vars.and_then(|m| m.get(var)) {
                                self.resolve_required(v, path)?
                            } else if let Some((res, attr)) = var.split_once('.') {
                                self.get_att(res, attr, path)?
                            } else {
                                self.reference(var, path)?.ok_or_else(|| {
                                    TemplateError::malformed(path, "AWS::NoValue inside Fn::Sub")
                                })?
                            };
                            out.push_str(&scalar_string(&value).ok_or_else(|| {
                                TemplateError::malformed(
                                    path,
                                    format!("${{{var}}} does not resolve to a string"),
                                )
                            })?);
                        }
                    }
                }
                Ok(Some(Value::String(out)))
            }
            "Fn::Join" => {
                let a = match arg {
                    Value::Array(a) if a.len() == 2 => a,
                    _ => {
                        return Err(TemplateError::malformed(
                            path,
                            "takes [delimiter, [values]]",
                        ));
                    }
                };
                let delim = a[0]
                    .as_str()
                    .ok_or_else(|| TemplateError::malformed(path, "the delimiter is a string"))?;
                let items = self.resolve_list(&a[1], path)?;
                let parts = items
                    .iter()
                    .map(|v| {
                        scalar_string(v)
                            .ok_or_else(|| TemplateError::malformed(path, "can only join strings"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Value::String(parts.join(delim))))
            }
            "Fn::Select" => {
                let a = match arg {
                    Value::Array(a) if a.len() == 2 => a,
                    _ => return Err(TemplateError::malformed(path, "takes [index, [values]]")),
                };
                let index = scalar_string(&self.resolve_required(&a[0], path)?)
                    .and_then(|s| s.parse::<usize>().ok())
                    .ok_or_else(|| TemplateError::malformed(path, "the index is a number"))?;
                let items = self.resolve_list(&a[1], path)?;
                items.get(index).cloned().map(Some).ok_or_else(|| {
                    TemplateError::malformed(path, format!("index {index} is out of range"))
                })
            }
            "Fn::Split" => {
                let a = match arg {
                    Value::Array(a) if a.len() == 2 => a,
                    _ => return Err(TemplateError::malformed(path, "takes [delimiter, string]")),
                };
                let delim = a[0]
                    .as_str()
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| TemplateError::malformed(path, "the delimiter is a string"))?;
                let s = self.resolve_required(&a[1], path)?;
                let s = s
                    .as_str()
                    .ok_or_else(|| TemplateError::malformed(path, "splits a string"))?;
                Ok(Some(Value::Array(
                    s.split(delim).map(|p| Value::String(p.into())).collect(),
                )))
            }
            "Fn::If" => {
                let a = match arg {
                    Value::Array(a) if a.len() == 3 => a,
                    _ => {
                        return Err(TemplateError::malformed(
                            path,
                            "takes [condition, value if true, value if false]",
                        ));
                    }
                };
                let name = a[0]
                    .as_str()
                    .ok_or_else(|| TemplateError::malformed(path, "names a condition"))?;
                let branch = if self.condition(name, path)? {
                    &a[1]
                } else {
                    &a[2]
                };
                self.resolve(branch, path)
            }
            "Fn::FindInMap" => {
                let a = match arg {
                    Value::Array(a) if a.len() == 3 => a,
                    _ => return Err(TemplateError::malformed(path, "takes [map, key, key]")),
                };
                let keys = a
                    .iter()
                    .map(|k| {
                        self.resolve_required(k, path).and_then(|v| {
                            scalar_string(&v).ok_or_else(|| {
                                TemplateError::malformed(path, "keys must be strings")
                            })
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                self.template
                    .mappings
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| {
                        TemplateError::malformed(
                            path,
                            format!("no mapping {}.{}.{}", keys[0], keys[1], keys[2]),
                        )
                    })
            }
            other => Err(TemplateError::UnsupportedIntrinsic {
                path: path.clone(),
                function: other.to_string(),
            }),
        }
    }

    fn resolve_list(&self, v: &Value, path: &str) -> Result<Vec<Value>, TemplateError> {
        match self.resolve_required(v, path)? {
            Value::Array(a) => Ok(a),
            _ => Err(TemplateError::malformed(path, "expects a list")),
        }
    }

    fn reference(&self, name: &str, path: &str) -> Result<Option<Value>, TemplateError> {
        let s = |v: String| Ok(Some(Value::String(v)));
        match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::Region" => return s(self.stack.region.clone()),
            "AWS::AccountId" => return s(self.stack.account_id.clone()),
            "AWS::StackName" => return s(self.stack.name.clone()),
            "AWS::StackId" => return s(self.stack.stack_id()),
            "AWS::Partition" => return s(self.stack.partition.clone()),
            "AWS::URLSuffix" => return s("amazonaws.com".into()),
            "AWS::NotificationARNs" => return Ok(Some(Value::Array(vec![]))),
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return Ok(Some(v.clone()));
        }
        if self.template.resource(name).is_some() {
            return self
                .physical
                .get(name)
                .map(|p| Some(Value::String(p.reference.clone())))
                .ok_or_else(|| TemplateError::NotCreated {
                    path: path.to_string(),
                    name: name.to_string(),
                });
        }
        Err(TemplateError::UnknownReference {
            path: path.to_string(),
            name: name.to_string(),
        })
    }

    fn get_att(&self, resource: &str, attribute: &str, path: &str) -> Result<Value, TemplateError> {
        if self.template.resource(resource).is_none() {
            return Err(TemplateError::UnknownReference {
                path: path.to_string(),
                name: resource.to_string(),
            });
        }
        let physical = self
            .physical
            .get(resource)
            .ok_or_else(|| TemplateError::NotCreated {
                path: path.to_string(),
                name: resource.to_string(),
            })?;
        physical
            .attributes
            .get(attribute)
            .cloned()
            .ok_or_else(|| TemplateError::UnknownAttribute {
                path: path.to_string(),
                resource: resource.to_string(),
                attribute: attribute.to_string(),
            })
    }
}

/// `Some((key, value))` when `v` is a mapping with exactly one key.
fn single_key(v: &Value) -> Option<(&str, &Value)> {
    match v {
        Value::Object(m) if m.len() == 1 => m.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

/// Strings, numbers and booleans as CloudFormation stringifies them.
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str = r#"
Parameters:
  Env: { Type: String, Default: dev, AllowedValues: [dev, test, prod] }
  MaxReceive: { Type: Number, Default: 5, MinValue: 1, MaxValue: 1000 }
  Fifo: { Type: String, Default: "false", AllowedValues: ["true", "false"] }
  Names: { Type: CommaDelimitedList, Default: "a, b,c" }
Conditions:
  IsFifo: !Equals [!Ref Fifo, "true"]
  IsProdFifo: !And [!Condition IsFifo, !Equals [!Ref Env, prod]]
  NotFifo: !Not [!Condition IsFifo]
Mappings:
  Sizes: { dev: { Batch: 10 }, prod: { Batch: 100 } }
Resources:
  Dlq:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-${Env}-dlq${!Literal}"
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Join ["-", [!Ref "AWS::StackName", !Select [1, !Ref Names]]]
      FifoQueue: !If [IsFifo, true, !Ref "AWS::NoValue"]
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
        maxReceiveCount: !Ref MaxReceive
      Tags:
        - { Key: url, Value: !Sub ["${U}/x", { U: !Ref Dlq }] }
        - !If [NotFifo, { Key: mode, Value: standard }, !Ref "AWS::NoValue"]
      Batch: !FindInMap [Sizes, !Ref Env, Batch]
      Account: !Sub "${AWS::AccountId}:${AWS::Region}:${AWS::Partition}"
      Parts: !Split [",", "x,y"]
  Other:
    Type: AWS::SQS::Queue
    Condition: IsProdFifo
    Properties:
      Bad: !ImportValue Shared
Outputs:
  QueueUrl: { Value: !Ref Queue }
  OtherUrl: { Condition: IsProdFifo, Value: !Ref Other }
"#;

    fn ctx<'t>(t: &'t Template, over: &[(&str, &str)]) -> Result<Context<'t>, TemplateError> {
        let over = over
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Context::new(t, Stack::new("hub", "us-east-1", "123456789012"), &over)
    }

    fn created(c: &mut Context<'_>) {
        c.set_physical(
            "Dlq",
            Physical {
                reference: "http://q/hub-dev-dlq".into(),
                attributes: [(
                    "Arn".to_string(),
                    json!("arn:aws:sqs:us-east-1:1:hub-dev-dlq"),
                )]
                .into(),
            },
        );
    }

    #[test]
    fn resolves_every_supported_function() {
        // Scenario: Sub (with literal, pseudo parameters, variable map), Join, Select over a list
        // parameter, GetAtt, Ref to a Number, If with NoValue in a mapping and a list, FindInMap
        // and Split resolve as CloudFormation would.
        let t = Template::parse(T).unwrap();
        let mut c = ctx(&t, &[]).unwrap();
        assert_eq!(
            c.resolve_properties("Dlq").unwrap()["QueueName"],
            json!("hub-dev-dlq${Literal}")
        );
        created(&mut c);
        let p = c.resolve_properties("Queue").unwrap();
        assert_eq!(p["QueueName"], json!("hub-b"));
        assert!(!p.contains_key("FifoQueue"), "NoValue removes the key");
        assert_eq!(
            p["RedrivePolicy"],
            json!({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:hub-dev-dlq", "maxReceiveCount": "5"})
        );
        assert_eq!(
            p["Tags"],
            json!([{"Key": "url", "Value": "http://q/hub-dev-dlq/x"}, {"Key": "mode", "Value": "standard"}])
        );
        assert_eq!(p["Batch"], json!(10));
        assert_eq!(p["Account"], json!("123456789012:us-east-1:aws"));
        assert_eq!(p["Parts"], json!(["x", "y"]));
    }

    #[test]
    fn conditions_follow_parameters() {
        // Scenario: Fifo=true makes If pick its first branch and drops the NoValue tag entry.
        let t = Template::parse(T).unwrap();
        let mut c = ctx(&t, &[("Fifo", "true"), ("Env", "prod")]).unwrap();
        created(&mut c);
        let p = c.resolve_properties("Queue").unwrap();
        assert_eq!(p["FifoQueue"], json!(true));
        assert_eq!(p["Tags"].as_array().unwrap().len(), 1);
        assert!(c.is_active("Other").unwrap());
        assert!(!ctx(&t, &[]).unwrap().is_active("Other").unwrap());
    }

    #[test]
    fn parameter_constraints_are_enforced() {
        // Scenario: values outside AllowedValues, MinValue/MaxValue, or not numbers, and names the
        // template does not declare, are rejected up front.
        let t = Template::parse(T).unwrap();
        let e = ctx(&t, &[("Env", "qa")]).unwrap_err();
        assert!(
            e.to_string().contains("is not one of dev, test, prod"),
            "{e}"
        );
        let e = ctx(&t, &[("MaxReceive", "0")]).unwrap_err();
        assert!(e.to_string().contains("MinValue"), "{e}");
        let e = ctx(&t, &[("MaxReceive", "many")]).unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
        let e = ctx(&t, &[("Nope", "1")]).unwrap_err();
        assert!(matches!(e, TemplateError::UndeclaredParameter(_)));
        let t2 =
            Template::parse("Parameters: {P: {Type: String}}\nResources: {A: {Type: X}}").unwrap();
        assert!(matches!(
            ctx(&t2, &[]).unwrap_err(),
            TemplateError::MissingParameter(_)
        ));
    }

    #[test]
    fn unresolvable_references_fail_clearly() {
        // Scenario: references to resources not yet created, unknown names, unknown attributes and
        // unsupported functions each fail with the path at fault.
        let t = Template::parse(T).unwrap();
        let c = ctx(&t, &[]).unwrap();
        let e = c.resolve_properties("Queue").unwrap_err();
        assert!(
            matches!(e, TemplateError::NotCreated { ref name, .. } if name == "Dlq"),
            "{e}"
        );
        let e = c.resolve_properties("Other").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Resources.Other.Properties.Bad.Fn::ImportValue: Fn::ImportValue is not supported by the local resolver"
        );
        let e = c.resolve(&json!({"Ref": "Ghost"}), "X").unwrap_err();
        assert_eq!(e.to_string(), "X.Ref: unresolved reference to Ghost");
        let mut c = ctx(&t, &[]).unwrap();
        created(&mut c);
        let e = c
            .resolve(&json!({"Fn::GetAtt": ["Dlq", "Colour"]}), "Y")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Y.Fn::GetAtt: resource Dlq has no attribute Colour"
        );
        let e = c.resolve(&json!({"Fn::Sub": "${Nope}"}), "Z").unwrap_err();
        assert!(
            e.to_string().contains("unresolved reference to Nope"),
            "{e}"
        );
    }

    #[test]
    fn outputs_resolve_and_respect_conditions() {
        // Scenario: outputs resolve like properties; an output under a false condition is omitted.
        let t = Template::parse(T).unwrap();
        let mut c = ctx(&t, &[]).unwrap();
        created(&mut c);
        c.set_physical(
            "Queue",
            Physical {
                reference: "http://q/hub-b".into(),
                ..Physical::default()
            },
        );
        let out = c.resolve_outputs().unwrap();
        assert_eq!(out.get("QueueUrl"), Some(&json!("http://q/hub-b")));
        assert!(!out.contains_key("OtherUrl"));
    }

    #[test]
    fn sub_pieces_split_text_vars_and_literals() {
        // Scenario: ${Var}, ${!Literal} and an unterminated ${ are told apart.
        assert_eq!(
            sub_pieces("a${B}c${!D}${E.F}${"),
            vec![
                SubPiece::Text("a"),
                SubPiece::Var("B"),
                SubPiece::Text("c"),
                SubPiece::Literal("D"),
                SubPiece::Var("E.F"),
                SubPiece::Text("${"),
            ]
        );
    }
}
