/**
 * The floor of the enqueue benchmark: the fastest possible "accept a message" server — bare node:http,
 * JSON parse, one better-sqlite3 insert of the same payload, WAL with synchronous=NORMAL (not
 * durable). Run as `node floor-server.js <db-file>`; prints its port.
 */
import http from 'node:http';
import Database from 'better-sqlite3';

const db = new Database(process.argv[2]!);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE IF NOT EXISTS messages (pk INTEGER PRIMARY KEY, id TEXT NOT NULL, tenant_id TEXT NOT NULL, account_id TEXT, priority INTEGER,
	payload TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (tenant_id, id))`);
const insert = db.prepare('INSERT OR REPLACE INTO messages (id, tenant_id, account_id, priority, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)');

const server = http.createServer((req, res) => {
	const chunks: Buffer[] = [];
	req.on('data', chunk => chunks.push(chunk));
	req.on('end', () => {
		const body = JSON.parse(Buffer.concat(chunks).toString()) as {messages: Array<{id: string; tenant_id: string; account_id: string; priority?: number}>};
		const now = new Date().toISOString().slice(0, 19);
		for (const message of body.messages) {
			insert.run(message.id, message.tenant_id, message.account_id, message.priority ?? 2, JSON.stringify(message), now);
		}

		const answer = JSON.stringify({ok: true, queued: body.messages.length, rejected: []});
		res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(answer)});
		res.end(answer);
	});
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => {
	process.stdout.write(`${(server.address() as {port: number}).port}\n`);
});
