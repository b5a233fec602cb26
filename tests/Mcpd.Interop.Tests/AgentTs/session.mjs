// One agent session with the TypeScript SDK's client (an independent implementation of the Model Context Protocol):
// node session.mjs http://127.0.0.1:PORT/mcp
// Prints "subscribed" when it waits for a change of mcpd://devices/1/values (the test then writes the device over
// Modbus), and at the end one JSON line with what it saw; exits 1 with the reason on the first failed expectation.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const expect = (condition, what) => {
  if (!condition) {
    console.error(`expected: ${what}`);
    process.exit(1);
  }
};
const text = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text).join("");

const client = new Client({ name: "mcpd-ts-interop", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(process.argv[2])));

const tools = (await client.listTools()).tools.map((t) => t.name);
const resources = (await client.listResources()).resources.map((r) => r.uri);
const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
for (const name of ["list_devices", "describe_device", "read_registers", "write_register", "sample", "upstream_health", "call_method"]) {
  expect(tools.includes(name), `tool ${name} in ${tools}`);
}
expect(resources.includes("mcpd://devices/1/values"), `the values resource in ${resources}`);
expect(prompts.includes("diagnose_device"), `the diagnose_device prompt in ${prompts}`);

const read = await client.callTool({ name: "read_registers", arguments: { unit: 1, names: ["temperature", "humidity"] } });
expect(!read.isError, `a read: ${text(read)}`);
const [temperature, humidity] = read.structuredContent.readings;
expect(temperature.value === 100 && temperature.unit === "°C", `temperature 100 °C: ${JSON.stringify(temperature)}`);
expect(humidity.value === 85 && humidity.unit === "%", `humidity 85 %: ${JSON.stringify(humidity)}`);

const write = await client.callTool({ name: "write_register", arguments: { name: "temperature", value: 42 } });
expect(write.isError && text(write).includes("agent.allowWrites"), `a refused write: ${text(write)}`);

const bad = await client.callTool({ name: "read_registers", arguments: { table: "registers" } });
expect(bad.isError, `bad arguments as a tool error: ${text(bad)}`);

const prompt = await client.getPrompt({ name: "diagnose_device", arguments: { unit: "1", symptom: "falling temperature" } });
expect(prompt.messages.length > 0, "the diagnose_device prompt has a message");

const updated = new Promise((resolve) => client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)));
await client.subscribeResource({ uri: "mcpd://devices/1/values" });
console.log("subscribed");
const uri = await Promise.race([updated, new Promise((resolve) => setTimeout(() => resolve("timeout"), 20000))]);
expect(uri === "mcpd://devices/1/values", `a notification after the Modbus write, got ${uri}`);
const values = JSON.parse((await client.readResource({ uri })).contents[0].text);

console.log(JSON.stringify({ tools, temperature: temperature.value, humidity: humidity.value, refused: text(write), updated: uri, humidityAfter: values.readings[1].value }));
await client.close();
