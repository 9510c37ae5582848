//! Options shared by the verbs that work on the stack: which template, which stack name, which
//! parameters, the AWS clients for the stand-ins, and the stack's physical ids for the verbs
//! that only read it.

use anyhow::{Context as _, bail};
use hub_aws::AwsClients;
use hub_aws::clients::LocalEndpoints;
use hub_local::provision::{Provisioner, Report};
use hub_template::{Stack, Template};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where the stack is and what it is called.
#[derive(Debug, Clone, clap::Args)]
pub struct StackArgs {
    /// The SAM template.
    #[arg(long, env = "HUB_TEMPLATE", default_value = "template.yaml")]
    pub template: PathBuf,
    /// The stack name (AWS::StackName); resource names derive from it.
    #[arg(long, env = "HUB_STACK_NAME", default_value = "sap-sync-hub")]
    pub stack_name: String,
    /// The account id the stand-ins use (AWS::AccountId).
    #[arg(long, env = "HUB_ACCOUNT_ID", default_value = "123456789012")]
    pub account_id: String,
    /// A template parameter, NAME=VALUE (repeatable).
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    pub parameters: Vec<String>,
}

impl StackArgs {
    /// Reads the template.
    pub fn template(&self) -> anyhow::Result<Template> {
        Template::from_path(&self.template)
            .with_context(|| format!("reading {}", self.template.display()))
    }

    /// Parameter overrides as a map.
    pub fn overrides(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for p in &self.parameters {
            let Some((k, v)) = p.split_once('=') else {
                bail!("--parameter {p}: expected NAME=VALUE");
            };
            out.insert(k.trim().to_string(), v.to_string());
        }
        Ok(out)
    }

    /// The resolution context of `template` for this stack, validating the parameters.
    pub fn context<'t>(
        &self,
        template: &'t Template,
        clients: &AwsClients,
    ) -> anyhow::Result<hub_template::Context<'t>> {
        Ok(hub_template::Context::new(
            template,
            self.stack(clients),
            &self.overrides()?,
        )?)
    }

    /// The stack's physical ids, as `hubctl provision` created them, for the verbs that only
    /// read: nothing is created, updated or compared. Fails, naming what is missing and the
    /// command that creates it, when the stack is not provisioned.
    pub async fn resolve<'t>(
        &self,
        template: &'t Template,
        clients: &AwsClients,
    ) -> anyhow::Result<(hub_template::Context<'t>, Report)> {
        let mut ctx = self.context(template, clients)?;
        let report = Provisioner::new(clients.clone())
            .resolve(&mut ctx)
            .await
            .context("looking up the stack's resources")?;
        let missing = report.missing();
        if !missing.is_empty() {
            bail!(
                "stack {} is not provisioned: {} resources missing ({}{}); run `hubctl provision --stack-name {}` first",
                self.stack_name,
                missing.len(),
                missing[..missing.len().min(3)].join(", "),
                if missing.len() > 3 { ", …" } else { "" },
                self.stack_name
            );
        }
        Ok((ctx, report))
    }

    /// The stack identity in the clients' region.
    pub fn stack(&self, clients: &AwsClients) -> Stack {
        Stack::new(&self.stack_name, &clients.region(), &self.account_id)
    }
}

/// Clients for the local stand-ins (endpoints from `AWS_ENDPOINT_URL_*`, defaults of
/// `infra/local/stack.sh`).
pub async fn local_clients() -> AwsClients {
    AwsClients::local(&LocalEndpoints::from_env()).await
}
