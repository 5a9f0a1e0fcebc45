/**
 * The running agent's capabilities for host actions: commands, services and files, each with what
 * the gate hands them (gate.ts `Capabilities`). `protect` names the paths no file root may ever
 * serve besides the built-in deny list: the data directory in use, EXTENSIONS_FILE, AUDIT_LOG, the
 * config file.
 */
import { executeCommand } from './commands.js'
import { deleteFile, listFiles, readFile, writeFile } from './files.js'
import type { Capabilities } from './gate.js'
import { getServiceStatus, listServices, performServiceAction } from './services.js'

export function hostCapabilities(protect: readonly string[]): Capabilities {
  const files = (source: string) => ({ source, protect })
  return {
    executeCommand: (commands, params, source) => executeCommand(commands, params, source),
    listServices: (policy) => listServices(policy),
    getServiceStatus: (policy, params) => getServiceStatus(policy, params),
    performServiceAction: (policy, params) => performServiceAction(policy, params),
    listFiles: (roots, params, source) => listFiles(roots, params, files(source)),
    readFile: (roots, params, source) => readFile(roots, params, files(source)),
    writeFile: (roots, params, source) => writeFile(roots, params, files(source)),
    deleteFile: (roots, params, source) => deleteFile(roots, params, files(source)),
  }
}
