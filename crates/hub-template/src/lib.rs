//! Reads the project's `template.yaml` (AWS SAM / CloudFormation) and resolves its intrinsic
//! functions as CloudFormation would, so that the local provisioner and the local event source
//! mappings work from the very file that `sam deploy` deploys: local and cloud cannot drift.
//!
//! It is pure: no I/O besides reading the file, no AWS SDK. Physical ids (ARNs, queue URLs) are
//! fed in by whoever creates the resources ([`Context::set_physical`]).
//!
//! **Its room:** serde and a YAML reader only; no crate of the hub, no SDK. Development tooling:
//! the local stack (hub-local), the tests and the CLI depend on it; no Lambda links it
//! (tests/layering.rs checks it).
//!
//! # Layout
//! - [`template`]: the parsed template ([`Template`], [`Resource`], [`Parameter`]); short-form
//!   tags (`!Ref`, `!GetAtt`, `!Sub`, …) are normalised to their long JSON form on load;
//!   dependency order of resources.
//! - [`resolve`]: [`Context`], which holds parameter values, pseudo parameters and the physical ids
//!   of created resources, evaluates conditions and resolves `Ref`, `Fn::GetAtt`, `Fn::Sub`,
//!   `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If`, `Fn::FindInMap` and `AWS::NoValue`.
//! - [`error`]: [`TemplateError`], each variant naming the template path at fault.

pub mod error;
pub mod resolve;
pub mod template;

pub use error::TemplateError;
pub use resolve::{Context, Physical, Stack};
pub use template::{Parameter, Resource, Template};
