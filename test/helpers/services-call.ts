/**
 * One call of the services capability (ts/extensions/services.ts) in this process, its Outcome
 * printed as JSON on stdout. test/extensions-services.test.ts starts it as the unprivileged
 * sonar-agent uid, so that systemd hands the call to polkit as it does for the real agent.
 *
 *   node --import tsx test/helpers/services-call.ts '{"address": …, "call": "action", "policy": …, "params": …}'
 */
import { loadNative } from '../../ts/native.js'
import { getServiceStatus, listServices, performServiceAction } from '../../ts/extensions/services.js'
import type { Outcome, ServiceActionParams, ServiceParams, ServicePolicy } from '../../ts/extensions/types.js'

interface Request {
  address: string
  call: 'list' | 'status' | 'action'
  policy: ServicePolicy
  params?: ServiceParams | ServiceActionParams
}

const request = JSON.parse(process.argv[2] ?? '{}') as Request
loadNative().configure({ DBUS_SYSTEM_BUS_ADDRESS: request.address })
let outcome: Outcome
if (request.call === 'list') outcome = await listServices(request.policy)
else if (request.call === 'status') outcome = await getServiceStatus(request.policy, request.params as ServiceParams)
else outcome = await performServiceAction(request.policy, request.params as ServiceActionParams)
process.stdout.write(JSON.stringify(outcome, (_key, value: unknown) => (value instanceof Map ? Object.fromEntries(value) : value)))
