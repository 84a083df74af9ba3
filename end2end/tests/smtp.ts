import * as net from 'node:net';

/**
 * A local SMTP server on the port the server under test sends email to
 * (`WAYFARER_E2E_SMTP_PORT`, passed as its `--smtp-url`): it accepts every message and keeps
 * it, as a mail provider would.
 */
export async function startSmtpSink(): Promise<{ messages: () => string[]; close: () => void }> {
  const messages: string[] = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let data: string[] | null = null;
    socket.write('220 e2e ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data) {
          if (line === '.') {
            messages.push(data.join('\n'));
            data = null;
            socket.write('250 queued\r\n');
          } else {
            data.push(line);
          }
          continue;
        }
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'DATA') {
          data = [];
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
        } else {
          socket.write(verb === 'EHLO' || verb === 'HELO' ? '250 e2e\r\n' : '250 OK\r\n');
        }
      }
    });
    socket.on('error', () => socket.destroy());
  });
  const port = Number(process.env.WAYFARER_E2E_SMTP_PORT);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { messages: () => [...messages], close: () => server.close() };
}

/** The message as its reader sees it: quoted-printable soft breaks joined, `=XX` decoded. */
export function readable(message: string): string {
  return message
    .replace(/=\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
