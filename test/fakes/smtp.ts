import { SMTPServer } from 'smtp-server';


// A real SMTP server on loopback that keeps what it is sent

export interface Received {
    from: string;
    to: string[];
    raw: string;
}


export const startSmtp = async () => {

    const received: Received[] = [];
    const server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, session, callback) {

            const chunks: Buffer[] = [];
            stream.on('data', (chunk: Buffer) => chunks.push(chunk));
            stream.on('end', () => {

                received.push({
                    from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                    to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
                    raw: Buffer.concat(chunks).toString()
                });

                callback();
            });
        }
    });

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.server.address() as { port: number }).port;

    return {
        port,
        received,
        close: () => new Promise<void>((resolve) => server.close(() => resolve()))
    };
};
