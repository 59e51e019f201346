// The OpenAPI 3.1 validator is an ES module: run as a child process (jest runs the tests as CommonJS).
// Reads the document on stdin, prints {"valid": ..., "errors": [...]}.
import { Validator } from '@seriousme/openapi-schema-validator';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const result = await new Validator().validate(JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(JSON.stringify({ valid: result.valid, errors: result.errors ?? [] }));
