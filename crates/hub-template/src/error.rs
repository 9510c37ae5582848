//! Errors of template loading and resolution, each naming where in the template it failed (a
//! dotted path such as `Resources.CustomersQueue.Properties.RedrivePolicy`), and of template
//! generation, each naming the file of the definition and the line.

use thiserror::Error;

/// What went wrong reading or resolving the template.
#[derive(Debug, Error)]
pub enum TemplateError {
    /// A rule of the template's `Rules` refuses the parameters (as CloudFormation would).
    #[error("rule {rule}: {description}")]
    RuleFailed {
        /// The rule's name.
        rule: String,
        /// Its `AssertDescription`.
        description: String,
    },
    /// The file could not be read.
    #[error("cannot read template {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML (or JSON).
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// A part of the template does not have the shape CloudFormation requires.
    #[error("{path}: {reason}")]
    Malformed {
        /// Where.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A YAML tag that is not a CloudFormation intrinsic function.
    #[error("{path}: unknown tag !{tag}")]
    UnknownTag {
        /// Where.
        path: String,
        /// The tag.
        tag: String,
    },
    /// An intrinsic function this resolver does not implement.
    #[error("{path}: {function} is not supported by the local resolver")]
    UnsupportedIntrinsic {
        /// Where.
        path: String,
        /// The function, e.g. `Fn::ImportValue`.
        function: String,
    },
    /// `Ref` or `${}` to a name that is neither a parameter, a pseudo parameter nor a resource.
    #[error("{path}: unresolved reference to {name}")]
    UnknownReference {
        /// Where.
        path: String,
        /// The name referred to.
        name: String,
    },
    /// A reference to a resource that exists in the template but has no physical id yet.
    #[error("{path}: resource {name} has not been created yet")]
    NotCreated {
        /// Where.
        path: String,
        /// The resource's logical id.
        name: String,
    },
    /// `Fn::GetAtt` of an attribute the resource does not have.
    #[error("{path}: resource {resource} has no attribute {attribute}")]
    UnknownAttribute {
        /// Where.
        path: String,
        /// The resource's logical id.
        resource: String,
        /// The attribute.
        attribute: String,
    },
    /// A parameter without default and without a value.
    #[error("parameter {0} has no default and no value was given")]
    MissingParameter(String),
    /// A value given for a parameter that the template does not declare.
    #[error("parameter {0} is not declared by the template")]
    UndeclaredParameter(String),
    /// A parameter value that breaks the parameter's constraints.
    #[error("parameter {name}: value {value:?} {reason}")]
    InvalidParameter {
        /// The parameter.
        name: String,
        /// The value given.
        value: String,
        /// Which constraint it breaks.
        reason: String,
    },
    /// A condition name that the `Conditions` section does not define.
    #[error("{path}: unknown condition {name}")]
    UnknownCondition {
        /// Where.
        path: String,
        /// The condition.
        name: String,
    },
    /// Resources that depend on each other in a circle.
    #[error("circular dependency between resources: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

impl TemplateError {
    pub(crate) fn malformed(path: &str, reason: impl Into<String>) -> Self {
        TemplateError::Malformed {
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

/// What went wrong generating `template.yaml` from its definition ([`crate::generate`]).
#[derive(Debug, Error)]
pub enum GenerateError {
    /// A file of the definition could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `objects.yaml` is not YAML.
    #[error("objects.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// `objects.yaml` is YAML but not a list of objects as the generator needs it.
    #[error("objects.yaml: {0}")]
    Objects(String),
    /// A line of `base.yaml` or `object.yaml` the generator cannot follow.
    #[error("{file}:{line}: {reason}")]
    Line {
        /// `base.yaml` or `object.yaml`.
        file: &'static str,
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A section of `object.yaml` or a field of `objects.yaml` that nothing uses (a typo, or
    /// left over).
    #[error("{file}: {what} is never used")]
    Unused {
        /// The file that declares it.
        file: &'static str,
        /// The section or field.
        what: String,
    },
}
