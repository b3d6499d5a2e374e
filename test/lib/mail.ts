import Fs from 'fs';
import Path from 'path';


// Reading what the file mailer wrote: the messages of one recipient, and the link in them

const decodeQuotedPrintable = (text: string) => text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));


export const messagesTo = (dir: string, email: string) => {

    if (!Fs.existsSync(dir)) {
        return [];
    }

    return Fs.readdirSync(dir)
        .filter((file) => file.endsWith('.eml'))
        .sort()
        .map((file) => Fs.readFileSync(Path.join(dir, file), 'utf8'))
        .filter((message) => new RegExp(`^To: ${email.replace(/[.+]/g, '\\$&')}$`, 'mi').test(message));
};


export const linkToken = (message: string) => {

    const match = /\/auth\/callback\?token=([A-Za-z0-9_-]+)/.exec(decodeQuotedPrintable(message));
    if (!match) {
        throw new Error('No sign-in link in the message');
    }

    return match[1]!;
};
