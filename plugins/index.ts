import type { TalkyPlugin } from '../core/plugin';
import { plugin as admin } from './admin';
import { plugin as analytics } from './analytics';
import { plugin as auth } from './auth';
import { plugin as calls } from './calls';
import { plugin as campaigns } from './campaigns';
import { plugin as cartesia } from './cartesia';
import { plugin as contacts } from './contacts';
import { plugin as deepgram } from './deepgram';
import { plugin as dialer } from './dialer';
import { plugin as elevenlabs } from './elevenlabs';
import { plugin as espeak } from './espeak';
import { plugin as live } from './live';
import { plugin as mail } from './mail';
import { plugin as metrics } from './metrics';
import { plugin as openai } from './openai';
import { plugin as plans } from './plans';
import { plugin as pocketsphinx } from './pocketsphinx';
import { plugin as privacy } from './privacy';
import { plugin as scripted } from './scripted';
import { plugin as simulator } from './simulator';
import { plugin as storage } from './storage';
import { plugin as voice } from './voice';
import { plugin as vonage } from './vonage';


// The built-in plugins, in registration order: the providers of the slots first, then the
// features. TALKY_DISABLED_PLUGINS leaves any of them out.

export const builtins: TalkyPlugin<any>[] = [
    mail, storage, vonage, simulator,
    deepgram, pocketsphinx, openai, scripted, cartesia, elevenlabs, espeak,
    plans, auth, campaigns, contacts, dialer, voice, calls, privacy, analytics, admin, live, metrics
];
