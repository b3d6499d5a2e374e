import type { TalkyPlugin } from '../core/plugin';


// The built-in plugins, in registration order. TALKY_DISABLED_PLUGINS leaves any of them out.

export const builtins: TalkyPlugin<any>[] = [];
