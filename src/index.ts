// The Functions host loads this file (package.json "main"): importing each module registers its functions.
import './functions/setup';
import './functions/telemetryHooks';
import './functions/exportTimer';
import './functions/exportAuthorQueue';
import './functions/httpApi';
import './functions/dsarApi';
import './functions/openApi';
