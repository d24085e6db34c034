//! The tour's second part: the loop a deployment runs, against the sandbox in token mode,
//! with no token typed by hand. The sandbox pushes each vendor's ticket to the platform's push
//! handler (the SDK's ready axum handlers, on loopback), the token managers feed themselves
//! from it, an app authorizes the platform, and the new app is called.

use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use core_http::token::{MemoryStore, RefreshPolicy};
use core_http::Vendor;
use miniapp_sandbox::{PushSecrets, Sandbox, SandboxOptions};

/// The demo platform's push settings (what its settings page would show).
const ENCODING_AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";

async fn serve(router: axum::Router) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, axum::Router::new().nest("/events", router)).await;
    });
    Ok(format!("http://{addr}/events"))
}

fn secrets(app_id: &str) -> PushSecrets {
    PushSecrets {
        token: "demo-message-token".into(),
        encoding_aes_key: ENCODING_AES_KEY.into(),
        app_id: app_id.into(),
    }
}

/// Runs the loop; each step is one printed line. Fails at the first step that fails.
pub async fn run(print: bool) -> Result<usize> {
    // As the vendors do: tokens only for tickets the sandbox pushed.
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        pushed_tickets_only: true,
        ..Default::default()
    })
    .await
    .context("starting the sandbox in token mode")?;
    let base = sandbox.base_url();
    let mut steps = 0;
    let mut step = |vendor: &str, what: String| {
        steps += 1;
        if print {
            println!("ok   {vendor:<8} {what}");
        }
    };

    // WeChat: ticket push -> platform token; authorization link; `authorized` push -> the
    // handler exchanges the code and saves the app's tokens.
    let client = wechat_component_api::Client::with_base_url(&base);
    let tokens = Arc::new(wechat_component_api::tokens::manager(
        &client,
        "wx_demo_component",
        "DEMO_SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    ));
    let s = secrets("wx_demo_component");
    let crypto = wechat_component_api::push::MessageCrypto::new(
        s.token.as_str(),
        ENCODING_AES_KEY,
        "wx_demo_component",
    )?;
    let url = serve(
        wechat_component_api::push::handler::PushHandler::new(
            client.clone(),
            tokens.clone(),
            crypto,
        )
        .router(),
    )
    .await?;
    let pushed = sandbox.push_ticket(Vendor::Wechat, &url, &s).await?;
    ensure!(
        pushed.status == 200,
        "the handler answered {}: {}",
        pushed.status,
        pushed.reply
    );
    step(
        "wechat",
        format!("ticket pushed, handler answered {:?}", pushed.reply),
    );
    tokens.component_token().get().await?;
    step(
        "wechat",
        "component_access_token fetched with the pushed ticket".into(),
    );
    let link = wechat_component_api::authorization::link(
        &client,
        &tokens,
        "https://platform.example.com/authorized",
        wechat_component_api::authorization::AuthType::MiniProgram,
        None,
    )
    .await?;
    step(
        "wechat",
        format!("authorization link {}…", &link[..link.len().min(80)]),
    );
    let pushed = sandbox
        .push_wechat_authorized(&url, &s, "wx_demo_app")
        .await?;
    ensure!(
        pushed.status == 200,
        "the handler answered {}: {}",
        pushed.status,
        pushed.reply
    );
    let saved = sandbox.hits("QueryAuth");
    ensure!(saved == 1, "the authorization code was not exchanged");
    step(
        "wechat",
        "`authorized` pushed, code exchanged, the app's tokens saved".into(),
    );

    // Baidu: ticket push -> TP token; link; `AUTHORIZED` pushed -> the handler exchanges the
    // code and saves the app's tokens -> a call on the new app.
    let client = baidu_smartapp_api::Client::with_base_url(&base);
    let tokens = Arc::new(baidu_smartapp_api::tokens::manager(
        &client,
        "demo_tp_client",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    ));
    let s = secrets("demo_tp_client");
    let crypto = baidu_smartapp_api::push::MessageCrypto::new(
        s.token.as_str(),
        ENCODING_AES_KEY,
        "demo_tp_client",
    )?;
    let url = serve(
        baidu_smartapp_api::push::handler::PushHandler::new(tokens.clone(), crypto)
            .complete_authorizations(client.clone())
            .router(),
    )
    .await?;
    let pushed = sandbox.push_ticket(Vendor::Baidu, &url, &s).await?;
    ensure!(
        pushed.status == 200,
        "the handler answered {}: {}",
        pushed.status,
        pushed.reply
    );
    step("baidu", "ticket pushed and stored".into());
    let link = baidu_smartapp_api::authorization::link(
        &client,
        &tokens,
        "https://platform.example.com/authorized",
    )
    .await?;
    step(
        "baidu",
        format!("authorization link {}…", &link[..link.len().min(80)]),
    );
    let pushed = sandbox
        .push_authorized(Vendor::Baidu, &url, &s, "15263713")
        .await?;
    ensure!(
        pushed.status == 200 && tokens.has_authorization("15263713").await?,
        "the AUTHORIZED push was not completed: {} {}",
        pushed.status,
        pushed.reply
    );
    step(
        "baidu",
        "`AUTHORIZED` pushed, code exchanged, the app's tokens saved".into(),
    );
    let app = client.authorizer(tokens.authorizer_token("15263713"));
    let version = app
        .get_support_version(&baidu_smartapp_api::basic_info::GetSupportVersionRequest::new())
        .await?;
    step(
        "baidu",
        format!(
            "app authorized; its call answered now_version = {}",
            version.now_version
        ),
    );

    // Kuaishou: ticket push -> component token; the code exchanged -> a call on the new app.
    let client = kuaishou_api::Client::with_base_url(&base, "ks_demo_component");
    let tokens = Arc::new(kuaishou_api::tokens::manager(
        &client,
        "DEMO_SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    ));
    let s = secrets("ks_demo_component");
    let crypto = kuaishou_api::push::PushCrypto::new(s.token.as_str(), ENCODING_AES_KEY)?;
    let url = serve(kuaishou_api::push::handler::PushHandler::new(tokens.clone(), crypto).router())
        .await?;
    let pushed = sandbox.push_ticket(Vendor::Kuaishou, &url, &s).await?;
    ensure!(
        pushed.status == 200,
        "the handler answered {}: {}",
        pushed.status,
        pushed.reply
    );
    step(
        "kuaishou",
        format!("component ticket pushed, handler answered {}", pushed.reply),
    );
    let app_id = kuaishou_api::authorization::complete(
        &client,
        &tokens,
        "ks_demo_app",
        "code-from-the-redirect",
    )
    .await?;
    let app = client.authorizer(tokens.authorizer_token(&app_id));
    let info = app
        .get_app_info(&kuaishou_api::basic_info::GetAppInfoRequest::new())
        .await?;
    step(
        "kuaishou",
        format!(
            "app {app_id} authorized; its call answered app_name = {:?}",
            info.app_name
        ),
    );
    Ok(steps)
}
