import { app } from '@azure/functions';

// Before any function is registered: HTTP bodies as streams, so a bundle (a zip of any size) is sent as it
// is read, never held in memory. The request bodies the app reads are small and read whole.
app.setup({ enableHttpStream: true });
