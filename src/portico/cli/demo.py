"""`portico serve --demo`: the gateway plus simulated OpenAI, Anthropic and Gemini upstreams,
a fresh SQLite store in a temp folder, and a printed demo key."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile

import click
import uvicorn

from portico.cli.serve import uvicorn_config
from portico.config.model import (
    DeploymentConfig,
    ModelGroupConfig,
    PorticoConfig,
    ProviderConfig,
    StoreConfig,
    UpstreamKeyConfig,
)
from portico.server.app import create_app
from portico.server.gateway import build_gateway
from portico.simulate.runner import Simulator

UPSTREAM_KEY_VAR = "PORTICO_DEMO_UPSTREAM_KEY"
MASTER_KEY_VAR = "PORTICO_DEMO_MASTER_KEY"


def demo_config(urls: dict[str, str], folder: str) -> PorticoConfig:
    key = [UpstreamKeyConfig(id="demo", key=f"env:{UPSTREAM_KEY_VAR}")]
    providers = {
        name: ProviderConfig(base_url=urls[name], keys=key, internal=True)
        for name in ("openai", "anthropic", "gemini")
    }
    models = [
        ModelGroupConfig(name="gpt-4o-mini", deployments=[
            DeploymentConfig(provider="openai", model="gpt-4o-mini")]),
        ModelGroupConfig(name="claude-haiku", deployments=[
            DeploymentConfig(provider="anthropic", model="claude-haiku-4-5")]),
        ModelGroupConfig(name="gemini-flash", deployments=[
            DeploymentConfig(provider="gemini", model="gemini-2.5-flash")]),
        ModelGroupConfig(name="smart", deployments=[
            DeploymentConfig(provider="openai", model="gpt-4o"),
            DeploymentConfig(provider="anthropic", model="claude-sonnet-4-5"),
            DeploymentConfig(provider="gemini", model="gemini-2.5-pro"),
        ]),
        ModelGroupConfig(name="text-embedding-3-small", deployments=[
            DeploymentConfig(provider="openai", model="text-embedding-3-small")]),
    ]
    return PorticoConfig(
        master_key=f"env:{MASTER_KEY_VAR}", providers=providers, models=models,
        store=StoreConfig(url=f"sqlite:///{folder}/portico-demo.db",
                          journal_path=f"{folder}/journal"),
    )


async def run_demo(host: str, port: int) -> None:
    os.environ.setdefault(UPSTREAM_KEY_VAR, "sim-" + secrets.token_hex(8))
    os.environ[MASTER_KEY_VAR] = "sk-master-" + secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="portico-demo-") as folder:
        async with contextlib.AsyncExitStack() as stack:
            sims = {name: await stack.enter_async_context(Simulator(name))
                    for name in ("openai", "anthropic", "gemini")}
            cfg = demo_config({n: s.base_url for n, s in sims.items()}, folder)
            gw = await build_gateway(cfg)
            stack.push_async_callback(gw.close)
            plain, _ = await gw.keys.create(name="demo")
            base = f"http://{host}:{port}"
            click.echo(f"""
Portico demo on {base}/v1 with simulated upstreams:
  openai {sims['openai'].base_url}  anthropic {sims['anthropic'].base_url}  \
gemini {sims['gemini'].base_url}
Models: gpt-4o-mini, claude-haiku, gemini-flash, smart (failover across all three),
        text-embedding-3-small, or any provider/model such as openai/gpt-4.1
Demo key:   {plain}
Master key: {os.environ[MASTER_KEY_VAR]}   (admin routes; shown because this is a demo)

  curl {base}/v1/chat/completions -H "Authorization: Bearer {plain}" \\
    -H "content-type: application/json" \\
    -d '{{"model":"smart","messages":[{{"role":"user","content":"Hello"}}]}}'
""")
            server = uvicorn.Server(uvicorn_config(create_app(cfg, gateway=gw), host, port))
            await server.serve()
