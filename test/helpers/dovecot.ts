import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type {ExecutionContext} from 'ava';
import {ImapFlow} from 'imapflow';
import {freePort} from './home.js';

export type Dovecot = {
	port: number;
	dir: string;
	/** Appends a raw message to a user's folder (IMAP APPEND). */
	append(user: string, raw: Buffer | string, folder?: string): Promise<void>;
	stop(): void;
	start(): Promise<void>;
};

const DOVECOT = '/usr/sbin/dovecot';
const DOVEADM = '/usr/bin/doveadm';

async function listening(port: number, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const ok = await new Promise<boolean>(resolve => {
			const socket = net.connect(port, '127.0.0.1');
			socket.once('connect', () => {
				socket.destroy();
				resolve(true);
			});
			socket.once('error', () => resolve(false));
		});
		if (ok) {
			return;
		}

		if (Date.now() > deadline) {
			throw new Error(`dovecot did not listen on ${port}`);
		}

		await new Promise(resolve => setTimeout(resolve, 50));
	}
}

/**
 * A throw-away Dovecot IMAP server on 127.0.0.1 (Debian's dovecot-imapd, installed by .ci/run): its
 * own config, maildirs and port; plaintext LOGIN; stopped in teardown. `users` maps login to password.
 */
export async function startDovecot(t: ExecutionContext, users: Record<string, string>): Promise<Dovecot> {
	if (!fs.existsSync(DOVECOT)) {
		throw new Error('dovecot is not installed: apt-get install -y dovecot-imapd (CI installs it)');
	}

	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mail-proxy-dovecot-'));
	fs.chmodSync(dir, 0o755);
	for (const sub of ['run', 'state', 'mail']) {
		fs.mkdirSync(path.join(dir, sub), {mode: 0o755});
	}

	fs.chownSync(path.join(dir, 'mail'), 65_534, 65_534);
	fs.writeFileSync(path.join(dir, 'users'), Object.entries(users).map(([user, password]) => `${user}:{PLAIN}${password}\n`).join(''));
	const port = await freePort();
	const config = path.join(dir, 'dovecot.conf');
	fs.writeFileSync(
		config,
		`protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=${dir}/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`,
	);
	const dovecot: Dovecot = {
		port,
		dir,
		async start() {
			// Dovecot daemonizes: its master must not hold our stdio open.
			execFileSync(DOVECOT, ['-c', config], {stdio: 'ignore'});
			await listening(port, 10_000);
		},
		stop() {
			try {
				execFileSync(DOVEADM, ['-c', config, 'stop'], {stdio: 'ignore'});
			} catch {}

			const pidFile = path.join(dir, 'run', 'master.pid');
			if (fs.existsSync(pidFile)) {
				try {
					process.kill(Number(fs.readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
				} catch {}
			}
		},
		async append(user, raw, folder = 'INBOX') {
			const client = new ImapFlow({host: '127.0.0.1', port, secure: false, auth: {user, pass: users[user]!}, logger: false});
			await client.connect();
			try {
				if (folder !== 'INBOX') {
					await client.mailboxCreate(folder).catch(() => undefined);
				}

				await client.append(folder, typeof raw === 'string' ? Buffer.from(raw) : raw);
			} finally {
				await client.logout();
			}
		},
	};
	await dovecot.start();
	t.teardown(() => {
		dovecot.stop();
		fs.rmSync(dir, {recursive: true, force: true});
	});
	return dovecot;
}
