import type { TalkyPlugin } from '../core/plugin';
import { plugin as auth } from './auth';
import { plugin as campaigns } from './campaigns';
import { plugin as contacts } from './contacts';
import { plugin as dialer } from './dialer';
import { plugin as mail } from './mail';
import { plugin as plans } from './plans';
import { plugin as simulator } from './simulator';
import { plugin as storage } from './storage';
import { plugin as vonage } from './vonage';


// The built-in plugins, in registration order. TALKY_DISABLED_PLUGINS leaves any of them out.

export const builtins: TalkyPlugin<any>[] = [mail, storage, vonage, simulator, plans, auth, campaigns, contacts, dialer];
