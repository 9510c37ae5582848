//! A policy attached to several resources (`AWS::SQS::QueuePolicy`, `AWS::SNS::TopicPolicy`).
//! It has no life of its own: it is the `Policy` attribute of each target, so it is read, set
//! and compared target by target, and it "exists" as soon as its targets do.

use super::props::{
    check_properties, document_string, drift_of, required, same_value, string_list,
};
use super::{Drift, ProvisionError, ResourceKind};
use hub_template::{Context, Physical};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The service side of a policy: where its targets are listed, and how a target's `Policy`
/// attribute is read and written.
pub(super) trait PolicyTarget {
    /// The property listing the targets (`Queues`, `Topics`).
    const TARGETS: &'static str;
    /// A target's current `Policy` attribute.
    async fn policy(&self, target: &str) -> Result<Option<String>, ProvisionError>;
    /// Sets a target's `Policy` attribute.
    async fn set_policy(&self, target: &str, policy: &str) -> Result<(), ProvisionError>;
}

/// A policy resource over targets of one service.
pub(super) struct Policy<T>(pub T);

/// The policy document and the targets it is attached to.
pub(super) struct PolicySpec {
    policy: String,
    targets: Vec<String>,
}

impl<T: PolicyTarget> Policy<T> {
    /// The targets whose policy differs from the template's.
    fn differing<'a>(
        &self,
        d: &'a PolicySpec,
        live: &'a [Option<String>],
    ) -> impl Iterator<Item = (&'a String, &'a Option<String>)> {
        d.targets
            .iter()
            .zip(live)
            .filter(|(_, p)| !same_value(&d.policy, p.as_deref()))
    }
}

impl<T: PolicyTarget> ResourceKind for Policy<T> {
    type Desired = PolicySpec;
    /// Each target's policy, in the order of the template's list.
    type Live = Vec<Option<String>>;

    fn desired(
        &self,
        _ctx: &Context<'_>,
        id: &str,
        props: &Map<String, Value>,
    ) -> Result<PolicySpec, ProvisionError> {
        check_properties(id, props, &[&[T::TARGETS, "PolicyDocument"]])?;
        Ok(PolicySpec {
            policy: document_string(required(id, props, "PolicyDocument")?),
            targets: string_list(id, props, T::TARGETS)?,
        })
    }

    fn physical(&self, id: &str, _d: &PolicySpec, _live: Option<&Self::Live>) -> Physical {
        Physical {
            reference: format!("{id}-policy"),
            attributes: BTreeMap::new(),
        }
    }

    async fn read(&self, _id: &str, d: &PolicySpec) -> Result<Option<Self::Live>, ProvisionError> {
        let mut live = Vec::with_capacity(d.targets.len());
        for target in &d.targets {
            live.push(self.0.policy(target).await?);
        }
        Ok(Some(live))
    }

    async fn create(&self, _id: &str, d: &PolicySpec) -> Result<(), ProvisionError> {
        for target in &d.targets {
            self.0.set_policy(target, &d.policy).await?;
        }
        Ok(())
    }

    async fn update(
        &self,
        _id: &str,
        d: &PolicySpec,
        live: &Self::Live,
    ) -> Result<bool, ProvisionError> {
        let mut changed = false;
        for (target, _) in self.differing(d, live) {
            self.0.set_policy(target, &d.policy).await?;
            changed = true;
        }
        Ok(changed)
    }

    fn diff(&self, id: &str, d: &PolicySpec, live: &Self::Live) -> Vec<Drift> {
        self.differing(d, live)
            .map(|(target, p)| drift_of(id, &format!("Policy of {target}"), &d.policy, p.as_ref()))
            .collect()
    }
}
