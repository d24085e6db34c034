//! WeChat calls of the tour.

use wechat_component_api::third_party_domain::*;

use crate::{Call, Clients};

pub(crate) fn calls() -> Vec<Call> {
    vec![Call {
        vendor: "wechat",
        endpoint: "ModifyWxaJumpDomain",
        run: |c: &Clients| {
            Box::pin(async move {
                let mut set = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
                set.wxa_jump_h5_domain = Some(vec!["www.qq.com".into(), "wx.qq.com".into()]);
                set.is_modify_published_together = Some(false);
                let answer = c.wechat.modify_wxa_jump_domain(&set).await?;
                Ok(format!(
                    "set: testing = {:?}, published = {:?}",
                    answer.testing_wxa_jump_h5_domain, answer.published_wxa_jump_h5_domain
                ))
            })
        },
    }]
}
