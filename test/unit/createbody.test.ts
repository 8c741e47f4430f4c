// parseCreateBody / checkCreateRequest against the answers recorded from
// dockerd 20.10.24 (Debian docker.io) for the same requests. The integration
// test create-validation.test.ts compares manager and engine live.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { checkCreateRequest, parseCreateBody, parseCreateBodyAsGo } from '../../src/api/createbody.js';
import { DockerError } from '../../src/errors.js';

const MSG = 'json: cannot unmarshal';

function refusal(fn: () => unknown): { status: number; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof DockerError, `not a DockerError: ${e}`);
    return { status: e.statusCode, message: e.message };
  }
}

const parse = (raw: string | Buffer) => () => parseCreateBody(Buffer.isBuffer(raw) ? raw : Buffer.from(raw));

// body -> dockerd's status and message (JSON types of the fields the manager reads)
const REFUSED: Array<[string, number, string]> = [
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":\"2\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":true}}", 500, "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":[1]}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":{}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":1.5}}", 500, "json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":1e3}}", 500, "json: cannot unmarshal number 1e3 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":1.0}}", 500, "json: cannot unmarshal number 1.0 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":9223372036854775808}}", 500, "json: cannot unmarshal number 9223372036854775808 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":-9223372036854775809}}", 500, "json: cannot unmarshal number -9223372036854775809 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":1.50}}", 500, "json: cannot unmarshal number 1.50 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":\"2\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":true}}", 500, "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":[1]}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":{}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":1.5}}", 500, "json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":1e3}}", 500, "json: cannot unmarshal number 1e3 into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":1.0}}", 500, "json: cannot unmarshal number 1.0 into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":9223372036854775808}}", 500, "json: cannot unmarshal number 9223372036854775808 into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":-9223372036854775809}}", 500, "json: cannot unmarshal number -9223372036854775809 into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":1.50}}", 500, "json: cannot unmarshal number 1.50 into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":\"2\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":true}}", 500, "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":[1]}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":{}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":1.5}}", 500, "json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":1e3}}", 500, "json: cannot unmarshal number 1e3 into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":1.0}}", 500, "json: cannot unmarshal number 1.0 into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":9223372036854775808}}", 500, "json: cannot unmarshal number 9223372036854775808 into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":-9223372036854775809}}", 500, "json: cannot unmarshal number -9223372036854775809 into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":1.50}}", 500, "json: cannot unmarshal number 1.50 into Go struct field HostConfig.HostConfig.NanoCpus of type int64"],
  ["{\"Image\":\"busybox\",\"CpuShares\":\"x\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"CpuShares\":true}", 500, "json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"CpuShares\":[1]}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"CpuShares\":{}}", 500, "json: cannot unmarshal object into Go struct field ContainerConfigWrapper.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"CpuShares\":1.5}", 500, "json: cannot unmarshal number 1.5 into Go struct field ContainerConfigWrapper.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"Memory\":\"x\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"Memory\":true}", 500, "json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"Memory\":[1]}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"Memory\":{}}", 500, "json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"Memory\":1.5}", 500, "json: cannot unmarshal number 1.5 into Go struct field ContainerConfigWrapper.Memory of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"cpushares\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"hostconfig\":{\"CPUSHARES\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShareſ\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":\"x\",\"CpuShares\":2}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":2,\"CpuShares\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":\"x\",\"CpuShares\":\"y\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64"],
  ["{\"Env\":\"x\",\"Image\":5}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env of type []string"],
  ["{\"Image\":5}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string"],
  ["{\"Image\":true}", 500, "json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.Image of type string"],
  ["{\"Image\":[]}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Image of type string"],
  ["{\"Image\":{}}", 500, "json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Image of type string"],
  ["{\"Image\":\"busybox\",\"Env\":\"A=1\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env of type []string"],
  ["{\"Image\":\"busybox\",\"Env\":[1]}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Env of type string"],
  ["{\"Image\":\"busybox\",\"Env\":{}}", 500, "json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Env of type []string"],
  ["{\"Image\":\"busybox\",\"Env\":true}", 500, "json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.Env of type []string"],
  ["{\"Image\":\"busybox\",\"Env\":[\"A=1\",2]}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Env of type string"],
  ["{\"Image\":\"busybox\",\"Labels\":{\"a\":1}}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type string"],
  ["{\"Image\":\"busybox\",\"Labels\":{\"a\":true}}", 500, "json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.Labels of type string"],
  ["{\"Image\":\"busybox\",\"Labels\":{\"a\":{}}}", 500, "json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Labels of type string"],
  ["{\"Image\":\"busybox\",\"Labels\":{\"a\":[]}}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels of type string"],
  ["{\"Image\":\"busybox\",\"Labels\":\"x\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Labels of type map[string]string"],
  ["{\"Image\":\"busybox\",\"Labels\":[\"a\"]}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels of type map[string]string"],
  ["{\"Image\":\"busybox\",\"Labels\":5}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type map[string]string"],
  ["{\"Image\":\"busybox\",\"ExposedPorts\":\"80/tcp\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.ExposedPorts of type nat.PortSet"],
  ["{\"Image\":\"busybox\",\"ExposedPorts\":[\"80/tcp\"]}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.ExposedPorts of type nat.PortSet"],
  ["{\"Image\":\"busybox\",\"ExposedPorts\":{\"80/tcp\":1}}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.ExposedPorts of type struct {}"],
  ["{\"Image\":\"busybox\",\"ExposedPorts\":{\"80/tcp\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.ExposedPorts of type struct {}"],
  ["{\"Image\":\"busybox\",\"ExposedPorts\":{\"80/tcp\":[]}}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.ExposedPorts of type struct {}"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortMap"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":[\"80/tcp\"]}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortMap"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":5}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortMap"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":\"x\"}}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.PortBindings of type []nat.PortBinding"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":{}}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.PortBindings of type []nat.PortBinding"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[1]}}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortBinding"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":80}]}}}", 500, "json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":1}]}}}", 500, "json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostIp of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":5}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.NetworkMode of type container.NetworkMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":true}}", 500, "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.NetworkMode of type container.NetworkMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":[]}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.NetworkMode of type container.NetworkMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":{}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.NetworkMode of type container.NetworkMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"IpcMode\":5}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.IpcMode of type container.IpcMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"IpcMode\":true}}", 500, "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.IpcMode of type container.IpcMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"IpcMode\":[]}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.IpcMode of type container.IpcMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"IpcMode\":{}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.IpcMode of type container.IpcMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PidMode\":5}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.PidMode of type container.PidMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PidMode\":true}}", 500, "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.PidMode of type container.PidMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PidMode\":[]}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.PidMode of type container.PidMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PidMode\":{}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.PidMode of type container.PidMode"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Links of type []string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":[1]}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.Links of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":{}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.Links of type []string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":5}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.Links of type []string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"VolumesFrom\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.VolumesFrom of type []string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"VolumesFrom\":[1]}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.VolumesFrom of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"VolumesFrom\":{}}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.VolumesFrom of type []string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"VolumesFrom\":5}}", 500, "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.VolumesFrom of type []string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":\"x\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig"],
  ["{\"Image\":\"busybox\",\"HostConfig\":5}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig"],
  ["{\"Image\":\"busybox\",\"HostConfig\":[]}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig"],
  ["{\"Image\":\"busybox\",\"HostConfig\":true}", 500, "json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":\"x\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.NetworkingConfig of type network.NetworkingConfig"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":5}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.NetworkingConfig of type network.NetworkingConfig"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":[]}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.NetworkingConfig of type network.NetworkingConfig"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":true}", 500, "json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.NetworkingConfig of type network.NetworkingConfig"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type map[string]*network.EndpointSettings"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":5}}", 500, "json: cannot unmarshal number into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type map[string]*network.EndpointSettings"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":[]}}", 500, "json: cannot unmarshal array into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type map[string]*network.EndpointSettings"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":\"x\"}}}", 500, "json: cannot unmarshal string into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type network.EndpointSettings"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":5}}}", 500, "json: cannot unmarshal number into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type network.EndpointSettings"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":[]}}}", 500, "json: cannot unmarshal array into Go struct field NetworkingConfig.NetworkingConfig.EndpointsConfig of type network.EndpointSettings"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"Aliases\":\"x\"}}}}", 500, "json: cannot unmarshal string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"IPAMConfig\":\"x\"}}}}", 500, "json: cannot unmarshal string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.IPAMConfig of type network.EndpointIPAMConfig"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"Links\":[1]}}}}", 500, "json: cannot unmarshal number into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Links of type string"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"NetworkID\":5}}}}", 500, "json: cannot unmarshal number into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.NetworkID of type string"],
  ["[]", 500, "json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper"],
  ["\"x\"", 500, "json: cannot unmarshal string into Go value of type runconfig.ContainerConfigWrapper"],
  ["5", 500, "json: cannot unmarshal number into Go value of type runconfig.ContainerConfigWrapper"],
  ["true", 500, "json: cannot unmarshal bool into Go value of type runconfig.ContainerConfigWrapper"],
  ["{\"Image\":\"busybox\",\"Links\":\"x\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Links of type []string"],
  ["{\"Image\":\"busybox\",\"PortBindings\":\"x\"}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.PortBindings of type nat.PortMap"],
  ["{\"Image\":\"busybox\",\"NetworkMode\":5}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.NetworkMode of type container.NetworkMode"],
  ["", 500, "EOF"],
  ["{", 500, "unexpected EOF"],
  ["﻿{\"Image\":\"busybox\"}", 500, "invalid character 'ï' looking for beginning of value"],
  ["   ", 500, "EOF"],
  ["{\"HostConfig\":{\"CpuShares\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"IPPrefixLen\":\"x\"}}}}", 500, "json: cannot unmarshal string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.IPPrefixLen of type int"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"IPPrefixLen\":1.5}}}}", 500, "json: cannot unmarshal number 1.5 into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.IPPrefixLen of type int"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"IPAMConfig\":{\"IPv4Address\":5}}}}}", 500, "json: cannot unmarshal number into Go struct field EndpointIPAMConfig.NetworkingConfig.EndpointsConfig.IPAMConfig.IPv4Address of type string"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"IPAMConfig\":{\"LinkLocalIPs\":\"x\"}}}}}", 500, "json: cannot unmarshal string into Go struct field EndpointIPAMConfig.NetworkingConfig.EndpointsConfig.IPAMConfig.LinkLocalIPs of type []string"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"DriverOpts\":{\"a\":1}}}}}", 500, "json: cannot unmarshal number into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.DriverOpts of type string"],
  ["{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"DriverOpts\":\"x\"}}}}", 500, "json: cannot unmarshal string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.DriverOpts of type map[string]string"],
  ["{\"Image\":\"busybox\",\"networkingconfig\":{\"endpointsconfig\":{\"n\":{\"aliases\":\"x\"}}}}", 500, "json: cannot unmarshal string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string"],
  ["{\"Image\":\"busybox\",\"PortBindings\":{\"80/tcp\":[{\"HostPort\":80}]}}", 500, "json: cannot unmarshal number into Go struct field PortBinding.PortBindings.HostPort of type string"],
  ["{\"Image\":\"busybox\",\"PortBindings\":{\"80/tcp\":[{\"hostport\":80}]}}", 500, "json: cannot unmarshal number into Go struct field PortBinding.PortBindings.HostPort of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"80\",\"HostPort\":1}]}}}", 500, "json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":0.0}}", 500, "json: cannot unmarshal number 0.0 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":1E3}}", 500, "json: cannot unmarshal number 1E3 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":1e-3}}", 500, "json: cannot unmarshal number 1e-3 into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":1.5}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string"],
  ["{\"Image\":-1e10}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string"],
  ["{\"Image\":\"busybox\",\"Labels\":{\"a\":1.5}}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Cpu\\u0053hares\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"\\u212aey\":1, \"HostConfig\":{\"CPU\\u017fHARES\":\"x\"}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"CpuShares\":\"x\",\"HostConfig\":{\"CpuShares\":\"y\"}}", 500, "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":\"y\"},\"CpuShares\":\"x\"}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.CpuShares of type int64"],
  ["{\"Image\":\"busybox\",\"Env\":[true]}", 500, "json: cannot unmarshal bool into Go struct field ContainerConfigWrapper.Env of type string"],
  ["{\"Image\":\"busybox\",\"Env\":[[]]}", 500, "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Env of type string"],
  ["{\"Image\":\"busybox\",\"Env\":[{}]}", 500, "json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Env of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[[]]}}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortBinding"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[true]}}}", 500, "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortBinding"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[\"x\"]}}}", 500, "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.PortBindings of type nat.PortBinding"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":[]}]}}}", 500, "json: cannot unmarshal array into Go struct field PortBinding.HostConfig.PortBindings.HostIp of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":[true]}}", 500, "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.Links of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":[[]]}}", 500, "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.Links of type string"],
  ["{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":[{}]}}", 500, "json: cannot unmarshal object into Go struct field HostConfig.HostConfig.Links of type string"],
  ["{\"Image\":\"busybox\",\"Labels\":{\"a\":\"b\",\"a\":1}}", 500, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels of type string"],

];

// Syntax: Go's json.Decoder reads the first value only; syntax is checked before types.
const SYNTAX: Array<[string | Buffer, number, string]> = [
  ['', 500, 'EOF'],
  ['\t\n ', 500, 'EOF'],
  ['{', 500, 'unexpected EOF'],
  ['{"Image":"busybox"', 500, 'unexpected EOF'],
  ['{"Image":"busybox",', 500, 'unexpected EOF'],
  ['[1,2', 500, 'unexpected EOF'],
  ['-', 500, 'unexpected EOF'],
  ['"abc', 500, 'unexpected EOF'],
  ['nul', 500, 'unexpected EOF'],
  ['{"HostConfig":{"CpuShares":"x"}', 500, 'unexpected EOF'],
  ['{"Image" "x"}', 500, 'invalid character \'"\' after object key'],
  ['{"Image":"x" "y"}', 500, 'invalid character \'"\' after object key:value pair'],
  ['{"Image":"x",}', 500, "invalid character '}' looking for beginning of object key string"],
  ['{,}', 500, "invalid character ',' looking for beginning of object key string"],
  ['{"Env":[1 2]}', 500, "invalid character '2' after array element"],
  ['{"Env":["a",]}', 500, "invalid character ']' looking for beginning of value"],
  ['{"Image":"a\u0001"}', 500, "invalid character '\\x01' in string literal"],
  ['{"Image":"\\x"}', 500, "invalid character 'x' in string escape code"],
  ['{"Image":"\\u12g4"}', 500, "invalid character 'g' in \\u hexadecimal character escape"],
  ['{"CpuShares":-}', 500, "invalid character '}' in numeric literal"],
  ['{"CpuShares":1.}', 500, "invalid character '}' after decimal point in numeric literal"],
  ['{"CpuShares":1e}', 500, "invalid character '}' in exponent of numeric literal"],
  ['{"CpuShares":1e+}', 500, "invalid character '}' in exponent of numeric literal"],
  ['{"CpuShares":01}', 500, "invalid character '1' after object key:value pair"],
  ['{"Tty":tru}', 500, "invalid character '}' in literal true (expecting 'e')"],
  ['{"Tty":fals}', 500, "invalid character '}' in literal false (expecting 'e')"],
  ['{"Tty":nul}', 500, "invalid character '}' in literal null (expecting 'l')"],
  ['{"Tty":truex}', 500, "invalid character 'x' after object key:value pair"],
  ["{'Image':1}", 500, "invalid character '\\'' looking for beginning of object key string"],
  ['\u0000', 500, "invalid character '\\x00' looking for beginning of value"],
  ['{"Image":"busybox"\u007f}', 500, "invalid character '\\x7f' after object key:value pair"],
  [Buffer.from('{"Image":"busybox"\x80}', 'latin1'), 500, "invalid character '\\u0080' after object key:value pair"],
  [Buffer.from('{"Image":"busybox"\xe9}', 'latin1'), 500, "invalid character 'é' after object key:value pair"],
  [Buffer.from('{\xc2\xa0}', 'latin1'), 500, "invalid character 'Â' looking for beginning of object key string"],
  [Buffer.from('\xef\xbb\xbf{}', 'latin1'), 500, "invalid character 'ï' looking for beginning of value"],
  ['{"HostConfig":{"CpuShares":"x"} x', 500, "invalid character 'x' after object key:value pair"],
  ['{"Foo":' + '['.repeat(10001) + ']'.repeat(10001) + ',"Image":"busybox"}', 500, "invalid character '[' exceeded max depth"],
  // A complete first value: the rest is never read.
  ['5 x', 500, `${MSG} number into Go value of type runconfig.ContainerConfigWrapper`],
  ['{"HostConfig":{"CpuShares":"x"}}}}', 500, `${MSG} string into Go struct field HostConfig.HostConfig.CpuShares of type int64`],
];

// Bodies dockerd's decoder accepts (dockerd answers 201, or refuses later on
// semantics: the comment is its answer). They must pass.
const ACCEPTED: string[] = [
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":null}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":-1}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":-5}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":9223372036854775807}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":0}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":2}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":1024}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":null}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":-1}}", // 400 Minimum memory limit allowed is 6MB
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":-5}}", // 400 Minimum memory limit allowed is 6MB
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":9223372036854775807}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":0}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":2}}", // 400 Minimum memory limit allowed is 6MB
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":1024}}", // 400 Minimum memory limit allowed is 6MB
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":null}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":-1}}", // 400 Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":-5}}", // 400 Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":9223372036854775807}}", // 400 Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":0}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":2}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NanoCpus\":1024}}", // 201
  "{\"Image\":\"busybox\",\"CpuShares\":null}", // 201
  "{\"Image\":\"busybox\",\"Memory\":null}", // 201
  "{\"Image\":null}", // 400 No command specified
  "{}", // 400 Config cannot be empty in order to create a container
  "{\"Image\":\"busybox\",\"Env\":[null]}", // 400 invalid environment variable: 
  "{\"Image\":\"busybox\",\"Labels\":{\"a\":null}}", // 201
  "{\"Image\":\"busybox\",\"ExposedPorts\":{\"80/tcp\":null}}", // 201
  "{\"Image\":\"busybox\",\"ExposedPorts\":{\"80/tcp\":{\"a\":1}}}", // 201
  "{\"Image\":\"busybox\",\"ExposedPorts\":{\"abc\":{}}}", // 201
  "{\"Image\":\"busybox\",\"ExposedPorts\":{\"80/xyz\":{}}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"abc\"}]}}}", // 400 invalid port specification: "abc"
  "{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"abc/tcp\":[{\"HostPort\":\"80\"}]}}}", // 400 invalid port specification: "abc"
  "{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":null}}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[null]}}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":null}]}}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"70000\"}]}}}", // 400 invalid port specification: "70000"
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":null}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"IpcMode\":null}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"PidMode\":null}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":null}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Links\":[null]}}", // 500 empty string specified for links
  "{\"Image\":\"busybox\",\"HostConfig\":{\"VolumesFrom\":null}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"VolumesFrom\":[null]}}", // 400 volumes-from specification cannot be an empty string
  "{\"Image\":\"busybox\",\"HostConfig\":null}", // 201
  "{\"Image\":\"busybox\",\"NetworkingConfig\":null}", // 201
  "{\"Image\":\"busybox\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":null}}}", // 400 no EndpointSettings for n
  "{\"Image\":\"busybox\",\"Foo\":\"x\",\"HostConfig\":{\"Bar\":[1]}}", // 201
  "null", // 400 Config cannot be empty in order to create a container
  "{\"Image\":\"busybox\"} x", // 201
  "{\"Image\":\"busybox\"}{}", // 201
  "{\"Image\":\"busybox\"}\n", // 201
  "{\"HostConfig\":{\"CpuShares\":2}}", // 400 Config cannot be empty in order to create a container
  "{\"Foo\":1}", // 400 Config cannot be empty in order to create a container
  "{\"HostConfig\":{\"NetworkMode\":\"container:\"}}", // 400 Invalid network mode: invalid container format container:<name|id>
  "{\"hostname\":\"x\"}", // 400 No command specified
  "{\"HostConfig\":{\"Memory\":1}}", // 400 Config cannot be empty in order to create a container
  "{\"CpuShares\":2}", // 400 Config cannot be empty in order to create a container
  "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":null}}}", // 400 Config cannot be empty in order to create a container
  "{\"Image\":\"\"}", // 400 No command specified
  "{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"container:\"}}", // 400 Invalid network mode: invalid container format container:<name|id>
  "{\"Image\":\"busybox\",\"Cmd\":\"true\"}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":-0}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares\":-9223372036854775808}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"CpuShares \":\"x\"}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"HostConfig\":{\"CpuShares\":\"x\"}}}", // 201
  "{\"Image\":\"busybox\",\"HostConfig\":{\"Resources\":{\"CpuShares\":\"x\"}}}", // 201
  "{\"Image\":\"busybox\",\"Labels\":{}}", // 201
  "{\"Image\":\"busybox\",\"Labels\":null}", // 201
  "{\"Image\":\"busybox\",\"ExposedPorts\":null}", // 201
  "{\"Image\":\"busybox\",\"ExposedPorts\":{}}", // 201
  '{"Image":"busybox"}}', // 201: trailing bytes ignored
  '{"Foo":' + '['.repeat(9999) + ']'.repeat(9999) + ',"Image":"busybox"}', // 201
  '{"Image":"busybox","HostConfig":{"cpushares":2,"MEMORY":10000000,"Cpu\\u0053hares":3}}', // 201 (Go matches names case-insensitively)
];

describe('parseCreateBody: wrong types of the fields the manager reads', () => {
  for (const [raw, status, message] of REFUSED) {
    it(`${raw} -> ${status}`, () => {
      assert.deepEqual(refusal(parse(raw)), { status, message });
    });
  }
});

describe('parseCreateBody: syntax and empty bodies, as Go\'s json.Decoder', () => {
  for (const [raw, status, message] of SYNTAX) {
    const label = String(raw).length > 60 ? String(raw).slice(0, 60) + '...' : String(raw);
    it(`${JSON.stringify(label)} -> ${message}`, () => {
      assert.deepEqual(refusal(parse(raw)), { status, message });
    });
  }
});

describe('parseCreateBody: what dockerd accepts passes', () => {
  for (const raw of ACCEPTED) {
    it(raw.length > 80 ? raw.slice(0, 80) + '...' : raw, () => {
      assert.equal(refusal(parse(raw)), undefined);
    });
  }

  it('returns the first value, parsed', () => {
    assert.deepEqual(parseCreateBody(Buffer.from(' {"Image":"busybox","HostConfig":{"CpuShares":2}} {"x":1}')), { Image: 'busybox', HostConfig: { CpuShares: 2 } });
    assert.equal(parseCreateBody(Buffer.from('null')), null);
  });

  it('leaves fields the manager does not read to the engine', () => {
    // dockerd: "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string"
    assert.equal(refusal(parse('{"Image":"busybox","Cmd":5}')), undefined);
  });
});

/** What a parse gives: the value, or the refusal. */
function outcome(f: (b: Buffer) => unknown, raw: Buffer): unknown {
  try { return { value: f(raw) }; } catch (e) { return refusal(() => { throw e; }); }
}

describe('parseCreateBody: the JSON.parse shortcut answers as Go\'s scanner does', () => {
  // Bodies near the checked fields: their names in other cases, duplicates,
  // numbers Go refuses for int64 (1.0, 1e3, 2^63), wrong types, broken syntax.
  const key = fc.constantFrom('Image', 'image', 'Env', 'Labels', 'CpuShares', 'cpushares', 'CPUSHARES', 'Memory', 'NanoCpus', 'HostConfig', 'hostconfig',
    'PortBindings', 'ExposedPorts', 'NetworkMode', 'Links', 'VolumesFrom', 'NetworkingConfig', 'EndpointsConfig', 'IPAMConfig', 'IPv4Address', 'Aliases', 'Cmd', 'x', '80/tcp', '1', '2', 'IPAddress', 'Gateway');
  const scalar = fc.oneof(
    fc.constantFrom('0', '1', '-1', '1.0', '1e3', '2E-1', '9223372036854775807', '9223372036854775808', '-9223372036854775809', 'true', 'false', 'null', '""', '"x"', '"\\u0041"', '[]', '{}', '["a"]', '[1]'),
    fc.integer().map(String), fc.string().map((x) => JSON.stringify(x)));
  const value: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
    v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar,
      fc.array(tie('v'), { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
      fc.array(fc.tuple(key, tie('v')), { maxLength: 5 }).map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`)),
  })).v;
  const body = fc.tuple(value, fc.constantFrom('', ' ', '\n', ' {}', 'x', '}', ']', ','), fc.nat(40), fc.constantFrom('', '{', '"', ':', ',', '\u0001', '\ufeff', '\xff'))
    .map(([v, tail, at, junk]) => {
      const s = v + tail;
      const cut = Math.min(at, s.length);
      return at % 3 === 0 ? s : s.slice(0, s.length - cut) + junk + s.slice(s.length - cut);
    });

  it('same value or same refusal for any body', () => {
    fc.assert(fc.property(body, (s) => {
      const raw = Buffer.from(s, s.includes('\xff') ? 'latin1' : 'utf8');
      assert.deepEqual(outcome(parseCreateBody, raw), outcome(parseCreateBodyAsGo, raw));
    }), { numRuns: 3000 });
  });

  it('where JS would reorder a map, repeat a key or round a number', () => {
    for (const s of [
      '{"NetworkingConfig":{"EndpointsConfig":{"2":{"IPAddress":1},"1":{"Gateway":1}}}}',
      '{"HostConfig":{"CpuShares":"x","CpuShares":5}}', '{"HostConfig":{"CpuShares":5},"HostConfig":{"Memory":"x"}}',
      '{"Memory":9007199254740993}', '{"Memory":9223372036854775808}', '{"Memory":1.0}', '{"Cmd":["a:b\\":"],"Memory":"x"}',
      '{"Labels":{"a":"1.5e3"},"Memory":2}', '{"Image":"b","ExposedPorts":{"80/tcp":{},"1":"x"}}',
    ]) {
      const b = Buffer.from(s);
      assert.deepEqual(outcome(parseCreateBody, b), outcome(parseCreateBodyAsGo, b), s);
    }
  });

  it('and for the bodies above', () => {
    for (const raw of [...REFUSED.map((r) => r[0]), ...ACCEPTED, ...SYNTAX.map((r) => r[0])]) {
      const b = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      if (b.length > 20_000) continue; // the deep ones take the scanner either way (and nest past deepEqual's recursion)
      assert.deepEqual(outcome(parseCreateBody, b), outcome(parseCreateBodyAsGo, b), String(raw).slice(0, 80));
    }
  });
});

// [Content-Type (null: none), query, body, dockerd's 400 message or undefined when it goes on to decode]
const REQUESTS: Array<[string | null, string, string, string | undefined]> = [
  ['application/json', '', '{"Image":"busybox"}', undefined],
  ['application/x-www-form-urlencoded', '', '{"Image":"busybox"}', "Content-Type specified (application/x-www-form-urlencoded) must be 'application/json'"],
  ['application/x-www-form-urlencoded', '', 'Image=busybox', "Content-Type specified (application/x-www-form-urlencoded) must be 'application/json'"],
  ['application/x-www-form-urlencoded', '', '', "Content-Type specified (application/x-www-form-urlencoded) must be 'application/json'"],
  ['application/x-www-form-urlencoded; charset=utf-8', '', '{"Image":"busybox"}', "Content-Type specified (application/x-www-form-urlencoded; charset=utf-8) must be 'application/json'"],
  ['text/plain', '', '{"Image":"busybox"}', "Content-Type specified (text/plain) must be 'application/json'"],
  ['text/plain', '', '', "Content-Type specified (text/plain) must be 'application/json'"],
  [null, '', '{"Image":"busybox"}', "Content-Type specified () must be 'application/json'"],
  ['', '', '{"Image":"busybox"}', "Content-Type specified () must be 'application/json'"],
  [null, '', '', undefined], // then 500 EOF
  ['application/json', '', '', undefined], // then 500 EOF
  ['application/json; charset=utf-8', '', '{"Image":"busybox"}', undefined],
  ['Application/JSON', '', '{"Image":"busybox"}', undefined],
  ['APPLICATION/JSON;CHARSET=UTF-8', '', '{"Image":"busybox"}', undefined],
  ['application/json;', '', '{"Image":"busybox"}', undefined],
  ['application/json;charset=utf-8', '', '{"Image":"busybox"}', undefined],
  ['application/json; charset=utf-8;', '', '{"Image":"busybox"}', undefined],
  ['application/json; charset="utf-8"', '', '{"Image":"busybox"}', undefined],
  ['application/json ; charset=utf-8', '', '{"Image":"busybox"}', undefined],
  ['application/json\t', '', '{"Image":"busybox"}', undefined],
  ['application/json; a*0=x; a*1=y', '', '{"Image":"busybox"}', undefined],
  ['application/jsonx', '', '{"Image":"busybox"}', "Content-Type specified (application/jsonx) must be 'application/json'"],
  ['application/json, text/plain', '', '{"Image":"busybox"}', "Content-Type specified (application/json, text/plain) must be 'application/json'"],
  ['application/vnd.docker+json', '', '{"Image":"busybox"}', "Content-Type specified (application/vnd.docker+json) must be 'application/json'"],
  ['multipart/form-data', '', '{"Image":"busybox"}', "Content-Type specified (multipart/form-data) must be 'application/json'"],
  ['application/json; charset', '', '{"Image":"busybox"}', "Content-Type specified (application/json; charset) must be 'application/json'"],
  ['application/json; a=1; a=2', '', '{"Image":"busybox"}', "Content-Type specified (application/json; a=1; a=2) must be 'application/json'"],
  ['application/json; a=1; a=1', '', '{"Image":"busybox"}', "Content-Type specified (application/json; a=1; a=1) must be 'application/json'"],
  ['application/json; a=1; A=2', '', '{"Image":"busybox"}', "Content-Type specified (application/json; a=1; A=2) must be 'application/json'"],
  ['application/json;;', '', '{"Image":"busybox"}', "Content-Type specified (application/json;;) must be 'application/json'"],
  ['application/json; ;', '', '{"Image":"busybox"}', "Content-Type specified (application/json; ;) must be 'application/json'"],
  ['application/json; x=', '', '{"Image":"busybox"}', "Content-Type specified (application/json; x=) must be 'application/json'"],
  ['application/json; =x', '', '{"Image":"busybox"}', "Content-Type specified (application/json; =x) must be 'application/json'"],
  ['application/json; a="b', '', '{"Image":"busybox"}', 'Content-Type specified (application/json; a="b) must be \'application/json\''],
  ['application/json; a=b c', '', '{"Image":"busybox"}', "Content-Type specified (application/json; a=b c) must be 'application/json'"],
  ['application/json/x', '', '{"Image":"busybox"}', "Content-Type specified (application/json/x) must be 'application/json'"],
  ['application/json x', '', '{"Image":"busybox"}', "Content-Type specified (application/json x) must be 'application/json'"],
  ['application/x-www-form-urlencoded,application/json', '', '{"Image":"busybox"}', "Content-Type specified (application/x-www-form-urlencoded,application/json) must be 'application/json'"],
  // net/http ParseForm: a form body, then the query (before the Content-Type check)
  ['application/x-www-form-urlencoded', '', '{"Image":"busybox","Env":["A=%zz"]}', 'invalid URL escape "%zz"'],
  ['application/x-www-form-urlencoded', '', '{"Image":"busybox","Env":["A=1;2"]}', 'invalid semicolon separator in query'],
  ['application/x-www-form-urlencoded', '', 'a=%zz&b;c', 'invalid semicolon separator in query'],
  ['application/x-www-form-urlencoded', '', 'a;b&c=%zz', 'invalid semicolon separator in query'],
  ['application/x-www-form-urlencoded', '', 'a=%\xc3\xa9', 'invalid URL escape "%é"'],
  ['application/json', '?name=a;b', '{"Image":"busybox"}', 'invalid semicolon separator in query'],
  ['text/plain', '?name=a;b', '{"Image":"busybox"}', 'invalid semicolon separator in query'],
  ['application/json', '?name=%zz', '{"Image":"busybox","HostConfig":{"CpuShares":"x"}}', 'invalid URL escape "%zz"'],
  ['application/json', '?name=%', '{"Image":"busybox"}', 'invalid URL escape "%"'],
  ['application/json', '?name=a%', '{"Image":"busybox"}', 'invalid URL escape "%"'],
  ['application/json', '?name=%4', '{"Image":"busybox"}', 'invalid URL escape "%4"'],
  ['application/json', '?name=%g1', '{"Image":"busybox"}', 'invalid URL escape "%g1"'],
  ['application/json', '?%zz=1', '{"Image":"busybox"}', 'invalid URL escape "%zz"'],
  ['application/json', '?a%=b', '{"Image":"busybox"}', 'invalid URL escape "%"'],
  ['application/json', '?name=%\xc3\xa9', '{"Image":"busybox"}', 'invalid URL escape "%é"'],
  ['application/json', '?name=%a\xc3\xa9', '{"Image":"busybox"}', 'invalid URL escape "%a\\xc3"'],
  ['application/json', '?name=%"a', '{"Image":"busybox"}', 'invalid URL escape "%\\"a"'],
  ['application/json', '?name=%\\a', '{"Image":"busybox"}', 'invalid URL escape "%\\\\a"'],
  ['application/json', '?name=%\xc2\x80', '{"Image":"busybox"}', 'invalid URL escape "%\\u0080"'],
  ['application/json', '?name=ok&x=%zz&y=%qq', '{"Image":"busybox"}', 'invalid URL escape "%zz"'],
  ['application/json', '?name=%%41', '{"Image":"busybox"}', 'invalid URL escape "%%4"'],
  // Go's ParseForm error is then a "mime:" one, which dockerd ignores: the query's is never seen.
  ['application/json; charset', '?name=a;b', '{"Image":"busybox"}', "Content-Type specified (application/json; charset) must be 'application/json'"],
];

describe('checkCreateRequest: query, form body and Content-Type, as dockerd', () => {
  for (const [ct, query, body, message] of REQUESTS) {
    it(`${ct === null ? '(no Content-Type)' : JSON.stringify(ct)} ${query} ${JSON.stringify(body)}`, () => {
      const headers: IncomingHttpHeaders = { 'content-length': String(Buffer.byteLength(body, 'latin1')) };
      if (ct !== null) headers['content-type'] = ct;
      const got = refusal(() => checkCreateRequest('/v1.41/containers/create' + query, headers, Buffer.from(body, 'latin1')));
      assert.deepEqual(got, message === undefined ? undefined : { status: 400, message });
    });
  }

  it('a chunked body without Content-Type is refused even when empty; no body at all is not', () => {
    const chunked = refusal(() => checkCreateRequest('/containers/create', { 'transfer-encoding': 'chunked' }, Buffer.alloc(0)));
    assert.deepEqual(chunked, { status: 400, message: "Content-Type specified () must be 'application/json'" });
    assert.equal(refusal(() => checkCreateRequest('/containers/create', {}, Buffer.alloc(0))), undefined);
    assert.equal(refusal(() => checkCreateRequest('/containers/create', { 'transfer-encoding': 'chunked', 'content-type': 'application/json' }, Buffer.alloc(0))), undefined);
  });
});
