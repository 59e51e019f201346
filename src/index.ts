// The Functions host loads this file (package.json "main"): importing each module registers its functions.
import './functions/telemetryHooks';
import './functions/exportTimer';
import './functions/exportAuthorQueue';
import './functions/httpApi';
