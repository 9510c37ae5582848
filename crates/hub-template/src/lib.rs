//! Reads the project's `template.yaml` (AWS SAM / CloudFormation) and resolves its intrinsic
//! functions as CloudFormation would, so that the local provisioner and the local event source
//! mappings work from the very file that `sam deploy` deploys: local and cloud cannot drift.
//!
//! It also writes that file: [`generate`] makes `template.yaml` from one definition of the
//! resources every SAP object has and the list of objects (`infra/template/`).
//!
//! It is pure: no I/O besides reading files, no AWS SDK. Physical ids (ARNs, queue URLs) are
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
//! - [`generate`]: `template.yaml` from `infra/template/` ([`generate::render`]): the shared
//!   part, the per-object sections, the objects; `cargo run -p hub-template --example
//!   generate-template` writes it.
//! - [`error`]: [`TemplateError`], each variant naming the template path at fault;
//!   [`GenerateError`], naming the file of the definition and the line.

pub mod error;
pub mod generate;
pub mod resolve;
pub mod template;

pub use error::{GenerateError, TemplateError};
pub use resolve::{Context, Physical, Stack};
pub use template::{Parameter, Resource, Template};
