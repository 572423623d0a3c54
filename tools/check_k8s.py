#!/usr/bin/env python3
"""Cross-reference check of Kubernetes manifests (no cluster needed).

kubectl --dry-run=client checks each object alone; this checks that they fit together:
  * every container's probes name a declared containerPort (by name or number);
  * every volumeMount names a pod volume or a volumeClaimTemplate; mount paths are unique;
  * configMap/secret volumes, env and envFrom name objects defined in the manifests (unless
    optional), and configMap items name keys of that ConfigMap;
  * $(VAR) references in command/args name an env var of the container;
  * workload selectors match their pod template labels, a StatefulSet's serviceName is a
    Service of the manifests;
  * Service selectors match a pod template, their targetPorts (name or number) exist on a
    container of those pods; PodMonitor selectors and ports likewise; ServiceMonitor ports
    name a port of a selected Service;
  * prometheus.io/port and /path annotations point to a declared containerPort and a path;
  * a Kustomization lists files that exist.
For the timing-sidecar container (image timing-sidecar[:tag]) also the deployment rules: a
hardened securityContext (non-root, read-only root filesystem, no privilege escalation, all
capabilities dropped), memory requests and limits, /healthz liveness and /readyz readiness
probes, the broker store mounted read-only, and a --config file that exists in its mounted
ConfigMap, is valid (tools/check_config.py) and whose paths and ports fit the pod. With
--sidecar-image IMAGE, that container's image must be exactly IMAGE (the one
scripts/build-image.sh --print-image names).

  tools/check_k8s.py [--sidecar-image IMAGE] deploy/kubernetes
"""

import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_config  # noqa: E402

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
SIDECAR_IMAGE = re.compile(r"^(?:.*/)?timing-sidecar(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$")
PORT_NAME = re.compile(r"^(?=.{1,15}$)[a-z0-9]+(?:-[a-z0-9]+)*$")


class Checker:
    def __init__(self, sidecar_image=None):
        self.sidecar_image = sidecar_image
        self.errors = []
        self.objects = []  # (file, object)

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")

    # ------------------------------------------------------------------ loading
    def load(self, paths):
        files = []
        for path in paths:
            if os.path.isdir(path):
                for root, _, names in os.walk(path):
                    files += [os.path.join(root, n) for n in sorted(names)
                              if n.endswith((".yaml", ".yml"))]
            else:
                files.append(path)
        for path in sorted(files):
            try:
                with open(path, encoding="utf-8") as f:
                    docs = list(yaml.safe_load_all(f))
            except yaml.YAMLError as e:
                self.error(path, f"not YAML: {e}")
                continue
            for doc in docs:
                if not doc:
                    continue
                if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                    self.error(path, "a document without apiVersion/kind")
                    continue
                if doc["kind"] == "Kustomization":
                    self.check_kustomization(path, doc)
                    continue
                if not (doc.get("metadata") or {}).get("name"):
                    self.error(path, f"{doc['kind']} without metadata.name")
                    continue
                self.objects.append((path, doc))
        return files

    def named(self, kind):
        return {o["metadata"]["name"]: o for _, o in self.objects if o["kind"] == kind}

    def check_kustomization(self, path, doc):
        base = os.path.dirname(path)
        for res in doc.get("resources", []):
            if "://" not in res and not os.path.exists(os.path.join(base, res)):
                self.error(path, f"Kustomization resource {res!r} does not exist")

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def pod_template(obj):
        if obj["kind"] == "Pod":
            return obj.get("metadata", {}), obj.get("spec", {})
        if obj["kind"] == "CronJob":
            tpl = obj["spec"]["jobTemplate"]["spec"]["template"]
        elif obj["kind"] in WORKLOAD_KINDS:
            tpl = obj["spec"]["template"]
        else:
            return None
        return tpl.get("metadata", {}), tpl.get("spec", {})

    def pods(self):
        """(where, workload, pod metadata, pod spec) of every pod template."""
        for path, obj in self.objects:
            tpl = self.pod_template(obj)
            if tpl:
                yield f"{path}: {obj['kind']}/{obj['metadata']['name']}", obj, tpl[0], tpl[1]

    @staticmethod
    def containers(spec):
        return (spec.get("initContainers") or []) + (spec.get("containers") or [])

    @staticmethod
    def matches(selector, labels):
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    def pods_selected(self, selector):
        return [(w, meta, spec) for w, _, meta, spec in self.pods()
                if self.matches(selector, meta.get("labels") or {})]

    # ------------------------------------------------------------------ checks
    def check_pods(self):
        configmaps = self.named("ConfigMap")
        secrets = self.named("Secret")
        services = self.named("Service")
        pvcs = self.named("PersistentVolumeClaim")
        for where, obj, meta, spec in self.pods():
            labels = meta.get("labels") or {}
            if obj["kind"] in WORKLOAD_KINDS - {"Job"}:
                selector = (obj["spec"].get("selector") or {}).get("matchLabels") or {}
                if not self.matches(selector, labels):
                    self.error(where, f"spec.selector.matchLabels {selector} does not match the "
                                      f"pod template labels {labels}")
            claim_templates = set()
            if obj["kind"] == "StatefulSet":
                claim_templates = {t["metadata"]["name"]
                                   for t in obj["spec"].get("volumeClaimTemplates") or []}
                service = obj["spec"].get("serviceName")
                if service not in services:
                    self.error(where, f"serviceName {service!r} is not a Service of the manifests")
                elif services[service]["spec"].get("clusterIP") != "None":
                    self.error(where, f"serviceName {service!r} should be a headless Service")

            volumes = {}
            for vol in spec.get("volumes") or []:
                name = vol.get("name")
                if name in volumes or name in claim_templates:
                    self.error(where, f"volume {name!r} declared twice")
                volumes[name] = vol
                self.check_volume_source(where, vol, configmaps, secrets, pvcs)

            declared_names = {}
            for c in self.containers(spec):
                for p in c.get("ports") or []:
                    if "name" in p:
                        if not PORT_NAME.match(p["name"]):
                            self.error(where, f"container {c['name']}: port name {p['name']!r} "
                                              "is not a valid IANA service name (<= 15 chars)")
                        if p["name"] in declared_names:
                            self.error(where, f"port name {p['name']!r} used twice in the pod")
                        declared_names[p["name"]] = c["name"]

            # Volumes the broker's containers mount: the sidecar may only read them.
            broker_volumes = {m.get("name") for c in self.containers(spec)
                              if not SIDECAR_IMAGE.match(str(c.get("image", "")))
                              for m in c.get("volumeMounts") or []}
            for c in self.containers(spec):
                self.check_container(where, c, volumes, claim_templates, broker_volumes,
                                     configmaps, secrets,
                                     init=c in (spec.get("initContainers") or []))

            self.check_scrape_annotations(where, meta, spec)

    def check_volume_source(self, where, vol, configmaps, secrets, pvcs):
        name = vol.get("name")
        sources = [vol]
        for proj in (vol.get("projected") or {}).get("sources") or []:
            sources.append(proj)
        for src in sources:
            cm = src.get("configMap")
            if cm:
                ref = cm.get("name")
                if ref not in configmaps:
                    if not cm.get("optional"):
                        self.error(where, f"volume {name!r}: ConfigMap {ref!r} is not defined")
                else:
                    keys = set((configmaps[ref].get("data") or {})) | \
                        set((configmaps[ref].get("binaryData") or {}))
                    for item in cm.get("items") or []:
                        if item.get("key") not in keys:
                            self.error(where, f"volume {name!r}: ConfigMap {ref!r} has no key "
                                              f"{item.get('key')!r}")
            sec = src.get("secret")
            if sec:
                ref = sec.get("secretName") or sec.get("name")
                if ref not in secrets and not sec.get("optional"):
                    self.error(where, f"volume {name!r}: Secret {ref!r} is not defined "
                                      "(mark it optional: true if it is created elsewhere)")
        pvc = vol.get("persistentVolumeClaim")
        if pvc and pvc.get("claimName") not in pvcs:
            self.error(where, f"volume {name!r}: PersistentVolumeClaim {pvc.get('claimName')!r} "
                              "is not defined")

    def check_container(self, where, c, volumes, claim_templates, broker_volumes, configmaps,
                        secrets, init=False):
        cname = c.get("name")
        cw = f"{where}: container {cname}"
        port_names = {p["name"] for p in c.get("ports") or [] if "name" in p}
        port_numbers = {p.get("containerPort") for p in c.get("ports") or []}

        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = c.get(kind)
            if not probe:
                continue
            for handler in ("httpGet", "tcpSocket", "grpc"):
                if handler not in probe:
                    continue
                port = probe[handler].get("port")
                if isinstance(port, str) and not port.isdigit():
                    if port not in port_names:
                        self.error(cw, f"{kind}.{handler}.port {port!r} is not a declared "
                                       f"containerPort name (declared: {sorted(port_names)})")
                elif int(port) not in port_numbers:
                    self.error(cw, f"{kind}.{handler}.port {port} is not a declared containerPort "
                                   f"(declared: {sorted(n for n in port_numbers if n)})")
                if handler == "httpGet" and not str(probe[handler].get("path", "/")).startswith("/"):
                    self.error(cw, f"{kind}.httpGet.path must start with /")

        mount_paths = set()
        for m in c.get("volumeMounts") or []:
            if m.get("name") not in volumes and m.get("name") not in claim_templates:
                self.error(cw, f"volumeMount {m.get('name')!r} is neither a pod volume "
                               f"({sorted(volumes)}) nor a volumeClaimTemplate "
                               f"({sorted(claim_templates)})")
            if m.get("mountPath") in mount_paths:
                self.error(cw, f"mountPath {m.get('mountPath')!r} mounted twice")
            mount_paths.add(m.get("mountPath"))

        env_names = set()
        for e in c.get("env") or []:
            env_names.add(e.get("name"))
            ref = (e.get("valueFrom") or {})
            cm = ref.get("configMapKeyRef")
            if cm and not cm.get("optional"):
                data = (configmaps.get(cm.get("name")) or {}).get("data") or {}
                if cm.get("name") not in configmaps or cm.get("key") not in data:
                    self.error(cw, f"env {e.get('name')}: ConfigMap key "
                                   f"{cm.get('name')}/{cm.get('key')} is not defined")
            sk = ref.get("secretKeyRef")
            if sk and not sk.get("optional") and sk.get("name") not in secrets:
                self.error(cw, f"env {e.get('name')}: Secret {sk.get('name')!r} is not defined")
        for ef in c.get("envFrom") or []:
            cm = ef.get("configMapRef")
            if cm and not cm.get("optional") and cm.get("name") not in configmaps:
                self.error(cw, f"envFrom: ConfigMap {cm.get('name')!r} is not defined")
            sr = ef.get("secretRef")
            if sr and not sr.get("optional") and sr.get("name") not in secrets:
                self.error(cw, f"envFrom: Secret {sr.get('name')!r} is not defined")
        for arg in (c.get("command") or []) + (c.get("args") or []):
            for var in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(arg)):
                if var not in env_names:
                    self.error(cw, f"$({var}) in command/args is not an env var of the container "
                                   "(Kubernetes would pass it on literally)")

        if SIDECAR_IMAGE.match(str(c.get("image", ""))):
            self.check_sidecar_image(cw, c)
            # An init container of the image (it copies the broker plugin's jar) runs no sidecar.
            if not init:
                self.check_sidecar(cw, c, volumes, broker_volumes, configmaps)

    def check_sidecar_image(self, cw, c):
        if self.sidecar_image and c.get("image") != self.sidecar_image:
            self.error(cw, f"image {c.get('image')!r} is not {self.sidecar_image!r}, the image "
                           "scripts/build-image.sh builds")

    def check_sidecar(self, cw, c, volumes, broker_volumes, configmaps):
        sc = c.get("securityContext") or {}
        if sc.get("runAsNonRoot") is not True or sc.get("runAsUser") == 0:
            self.error(cw, "securityContext.runAsNonRoot must be true (and runAsUser not 0)")
        if sc.get("readOnlyRootFilesystem") is not True:
            self.error(cw, "securityContext.readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            self.error(cw, "securityContext.allowPrivilegeEscalation must be false")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            self.error(cw, "securityContext.capabilities.drop must contain ALL")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            if not (res.get(part) or {}).get("memory"):
                self.error(cw, f"resources.{part}.memory must be set")
        for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = ((c.get(kind) or {}).get("httpGet") or {}).get("path")
            if got != path:
                self.error(cw, f"{kind} must be an httpGet of {path} (got {got!r})")
        mounts = c.get("volumeMounts") or []
        for m in mounts:
            if m.get("name") in broker_volumes and not m.get("readOnly"):
                self.error(cw, f"the broker's volume {m.get('name')!r} must be mounted readOnly")

        args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        config_path = None
        flags = {}
        for i, a in enumerate(args):
            if a.startswith("--"):
                name, eq, value = a[2:].partition("=")
                if not eq and i + 1 < len(args) and not args[i + 1].startswith("--"):
                    value = args[i + 1]
                flags[name] = value
        config_path = flags.get("config")
        settings = {}
        if config_path:
            settings = self.sidecar_config(cw, config_path, mounts, volumes, configmaps)
        settings.update({k: v for k, v in flags.items() if k != "config"})

        def mount_of(path):
            best = None
            for m in mounts:
                mp = m.get("mountPath", "").rstrip("/")
                if (path == mp or path.startswith(mp + "/")) and \
                        (best is None or len(mp) > len(best.get("mountPath", ""))):
                    best = m
            return best

        for key in ("topics.file", "timer-metrics.file", "webhook.secret-file", "web.config.file"):
            if key in settings and not mount_of(str(settings[key])):
                self.error(cw, f"{key} {settings[key]!r} is on no volumeMount of the container")
        if "state.dir" in settings:
            m = mount_of(str(settings["state.dir"]))
            if not m or m.get("readOnly"):
                self.error(cw, f"state.dir {settings['state.dir']!r} needs a writable volumeMount "
                               "(the root filesystem is read-only)")
        ports = {p.get("containerPort") for p in c.get("ports") or []}
        web = str(settings.get("web.listen-address", "0.0.0.0:9877"))
        host, _, port = web.rpartition(":")
        if port.isdigit() and int(port) not in ports:
            self.error(cw, f"web.listen-address {web!r}: port {port} is not a containerPort")
        if host in ("127.0.0.1", "localhost", "[::1]"):
            self.error(cw, f"web.listen-address {web!r} is loopback: kubelet probes and "
                           "Prometheus reach the pod IP")
        hook = str(settings.get("webhook.listen-address", "127.0.0.1:9878"))
        if not hook.startswith(("127.", "localhost:", "[::1]:")):
            self.error(cw, f"webhook.listen-address {hook!r} should stay on loopback "
                           "(the broker shares the pod's network)")

    def sidecar_config(self, cw, config_path, mounts, volumes, configmaps):
        for m in mounts:
            mp = m.get("mountPath", "").rstrip("/")
            if not config_path.startswith(mp + "/"):
                continue
            rel = config_path[len(mp) + 1:]
            cm = (volumes.get(m.get("name")) or {}).get("configMap")
            if not cm:
                return {}
            if m.get("subPath"):
                self.error(cw, "mount the config ConfigMap without subPath (updates never reach "
                               "a subPath mount)")
                return {}
            items = cm.get("items")
            key = rel if not items else next((i["key"] for i in items if i.get("path") == rel), None)
            data = (configmaps.get(cm.get("name")) or {}).get("data") or {}
            if key is None or key not in data:
                self.error(cw, f"--config {config_path}: no such file in ConfigMap "
                               f"{cm.get('name')!r}")
                return {}
            settings, errors = check_config.parse(data[key])
            for e in errors:
                self.error(cw, f"--config {config_path} (ConfigMap {cm.get('name')}/{key}): {e}")
            return settings
        self.error(cw, f"--config {config_path} is on no volumeMount of the container")
        return {}

    def check_scrape_annotations(self, where, meta, spec):
        ann = meta.get("annotations") or {}
        if "prometheus.io/scrape" in ann and ann["prometheus.io/scrape"] not in ("true", "false"):
            self.error(where, 'annotation prometheus.io/scrape must be "true" or "false"')
        if "prometheus.io/port" in ann:
            port = str(ann["prometheus.io/port"])
            numbers = {str(p.get("containerPort")) for c in self.containers(spec)
                       for p in c.get("ports") or []}
            if port not in numbers:
                self.error(where, f"annotation prometheus.io/port {port!r} is not a containerPort")
        if "prometheus.io/path" in ann and not str(ann["prometheus.io/path"]).startswith("/"):
            self.error(where, "annotation prometheus.io/path must start with /")

    def check_services(self):
        for path, svc in self.objects:
            if svc["kind"] != "Service":
                continue
            where = f"{path}: Service/{svc['metadata']['name']}"
            selector = svc["spec"].get("selector") or {}
            if not selector:
                continue  # endpoints managed elsewhere
            pods = self.pods_selected(selector)
            if not pods:
                self.error(where, f"selector {selector} matches no pod template")
                continue
            for port in svc["spec"].get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                for w, _, spec in pods:
                    cports = [p for c in self.containers(spec) for p in c.get("ports") or []]
                    if isinstance(target, str) and not target.isdigit():
                        ok = any(p.get("name") == target for p in cports)
                    else:
                        ok = any(p.get("containerPort") == int(target) for p in cports)
                    if not ok:
                        self.error(where, f"port {port.get('name', port.get('port'))}: targetPort "
                                          f"{target!r} is not a containerPort of {w}")

    def check_monitors(self):
        services = self.named("Service")
        for path, mon in self.objects:
            where = f"{path}: {mon['kind']}/{mon['metadata']['name']}"
            if mon["kind"] == "PodMonitor":
                selector = (mon["spec"].get("selector") or {}).get("matchLabels") or {}
                pods = self.pods_selected(selector)
                if not pods:
                    self.error(where, f"selector {selector} matches no pod template")
                for ep in mon["spec"].get("podMetricsEndpoints") or []:
                    port = ep.get("port")
                    if port is None:
                        self.error(where, "podMetricsEndpoints entry without port")
                        continue
                    for w, _, spec in pods:
                        names = {p.get("name") for c in self.containers(spec)
                                 for p in c.get("ports") or []}
                        if port not in names:
                            self.error(where, f"port {port!r} is not a containerPort name of {w}")
                    if ep.get("path") and not ep["path"].startswith("/"):
                        self.error(where, "path must start with /")
            elif mon["kind"] == "ServiceMonitor":
                selector = (mon["spec"].get("selector") or {}).get("matchLabels") or {}
                selected = [s for s in services.values()
                            if self.matches(selector, s["metadata"].get("labels") or {})]
                if not selected:
                    self.error(where, f"selector {selector} matches no Service")
                for ep in mon["spec"].get("endpoints") or []:
                    for s in selected:
                        names = {p.get("name") for p in s["spec"].get("ports") or []}
                        if ep.get("port") not in names:
                            self.error(where, f"port {ep.get('port')!r} is not a port name of "
                                              f"Service/{s['metadata']['name']}")

    def run(self, paths):
        files = self.load(paths)
        if not self.objects:
            self.error(" ".join(paths), "no Kubernetes objects found")
        self.check_pods()
        self.check_services()
        self.check_monitors()
        return files


def main(argv):
    sidecar_image = None
    if len(argv) > 2 and argv[1] == "--sidecar-image":
        sidecar_image, argv = argv[2], argv[:1] + argv[3:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    checker = Checker(sidecar_image)
    files = checker.run(argv[1:])
    for e in checker.errors:
        print(e, file=sys.stderr)
    kinds = sorted({f"{o['kind']}/{o['metadata']['name']}" for _, o in checker.objects})
    print(f"{len(files)} files, {len(kinds)} objects ({', '.join(kinds)}): "
          f"{len(checker.errors)} problems")
    return 1 if checker.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
