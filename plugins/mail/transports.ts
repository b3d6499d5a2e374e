import Crypto from 'crypto';
import Fs from 'fs/promises';
import Path from 'path';

import Nodemailer from 'nodemailer';


// The mailer slot: what Talky asks of any way of sending mail

export interface Message {
    to: string;
    subject: string;
    text: string;
    html?: string;
}

export interface Mailer {
    send(message: Message): Promise<{ id: string }>;
    close(): void;
}

declare module '../../core/providers' {
    interface ProviderSlots {
        mailer: Mailer;
    }
}


// One .eml file per message, named so that a directory listing sorts by time. Quoted-printable
// keeps the link readable to whoever opens the file.

export const fileMailer = (dir: string, from: string): Mailer => {

    const transport = Nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    let sent = 0;                                           // orders the messages of one millisecond

    return {
        async send(message) {

            const at = new Date().toISOString().replace(/[:.]/g, '-');
            const id = `${at}-${String(++sent % 1e6).padStart(6, '0')}-${Crypto.randomBytes(4).toString('hex')}`;
            const info = await transport.sendMail({ from, textEncoding: 'quoted-printable', ...message });
            await Fs.mkdir(dir, { recursive: true });

            // Written aside and renamed, so whoever watches the folder never reads half a message

            const path = Path.join(dir, `${id}.eml`);
            await Fs.writeFile(`${path}.tmp`, String(info.message));
            await Fs.rename(`${path}.tmp`, path);
            return { id };
        },
        close: () => transport.close()
    };
};


export const smtpMailer = (url: string, from: string): Mailer => {

    const transport = Nodemailer.createTransport(url);

    return {
        async send(message) {

            const info = await transport.sendMail({ from, textEncoding: 'quoted-printable', ...message });
            return { id: info.messageId };
        },
        close: () => transport.close()
    };
};
