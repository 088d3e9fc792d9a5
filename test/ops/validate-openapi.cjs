/**
 * Validates the OpenAPI document read from stdin with @apidevtools/swagger-parser (run by openapi.test.ts in a
 * plain Node process: the validator's ESM dependencies load there with require(), but not inside Jest).
 * Prints "valid" or the validation errors; exits 0 or 1.
 */
const SwaggerParser = require('@apidevtools/swagger-parser');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  SwaggerParser.validate(JSON.parse(input)).then(
    (api) => {
      process.stdout.write(`valid ${api.openapi}\n`);
    },
    (err) => {
      process.stdout.write(`${err.message}\n`);
      process.exitCode = 1;
    },
  );
});
