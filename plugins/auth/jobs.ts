import type { Core } from '../../core/plugin';
import { findUser, issueLink, type AuthSettings } from './service';


// Sign-in links go out from a queue: the request that asks for one answers at once, the same way
// whether or not the email is known, and a mail server's hiccup is retried.

export const mailQueue = 'auth-mail';

export interface LinkRequest {
    kind: 'register' | 'login';
    email: string;
}


export const linkUrl = (appUrl: string, token: string) => `${appUrl.replace(/\/+$/, '')}/auth/callback?token=${encodeURIComponent(token)}`;


export const sendLink = async (core: Core, settings: AuthSettings, { kind, email }: LinkRequest) => {

    const user = await findUser(core.db, email);
    if (!user || user.status === 'suspended') {
        return { sent: false };
    }

    const token = await issueLink(core.db, user.id, settings);
    const link = linkUrl(core.config.appUrl, token);
    const minutes = settings.magicLinkTtlMinutes;
    const greeting = user.name ? `Hi ${user.name},` : 'Hi,';
    const intro = kind === 'register' ? 'Welcome to Talky. Open this link to confirm your email and sign in:' : 'Open this link to sign in to Talky:';

    await core.providers.get('mailer').send({
        to: email,
        subject: kind === 'register' ? 'Welcome to Talky: confirm your email' : 'Your Talky sign-in link',
        text: `${greeting}\n\n${intro}\n\n${link}\n\nThe link works once and expires in ${minutes} minutes. If you did not ask for it, ignore this mail.\n`
    });

    return { sent: true };
};


const withDeadline = <T>(promise: Promise<T>, ms: number) => {

    let timer: NodeJS.Timeout;
    const deadline = new Promise<never>((resolve, reject) => {

        timer = setTimeout(() => reject(new Error(`no answer from the queue within ${ms} ms`)), ms);
    });

    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
};


export const requestLink = async (core: Core, settings: AuthSettings, request: LinkRequest) => {

    try {
        const job = core.queues.get(mailQueue).createJob(request).retries(3).backoff('exponential', 2000).timeout(30_000);
        await withDeadline(job.save(), 2000);
    }
    catch (err) {

        // Redis is down: send from this process rather than lose the link

        core.logger.warn({ err: { message: (err as Error).message } }, 'could not queue a sign-in mail; sending it directly');
        setImmediate(() => sendLink(core, settings, request).catch((error) => core.logger.error({ err: error }, 'sign-in mail failed')));
    }
};
