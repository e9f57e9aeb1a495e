package shipped

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/internal/shard"
)

// k8sObject is what the test reads of a manifest (decoded strictly: a
// misspelt field of these is an error).
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Type       string            `yaml:"type"`
	Spec       yaml.Node         `yaml:"spec"`
	// kustomization.yaml
	Namespace string   `yaml:"namespace"`
	Resources []string `yaml:"resources"`
}

type selector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type statefulSetSpec struct {
	ServiceName         string   `yaml:"serviceName"`
	Replicas            int      `yaml:"replicas"`
	PodManagementPolicy string   `yaml:"podManagementPolicy"`
	UpdateStrategy      any      `yaml:"updateStrategy"`
	Selector            selector `yaml:"selector"`
	Template            struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
			SecurityContext               any `yaml:"securityContext"`
			Containers                    []struct {
				Name  string   `yaml:"name"`
				Image string   `yaml:"image"`
				Args  []string `yaml:"args"`
				Env   []struct {
					Name  string `yaml:"name"`
					Value string `yaml:"value"`
				} `yaml:"env"`
				Ports []struct {
					Name          string `yaml:"name"`
					ContainerPort int    `yaml:"containerPort"`
				} `yaml:"ports"`
				LivenessProbe   *probe `yaml:"livenessProbe"`
				ReadinessProbe  *probe `yaml:"readinessProbe"`
				Resources       any    `yaml:"resources"`
				SecurityContext any    `yaml:"securityContext"`
				VolumeMounts    []struct {
					Name      string `yaml:"name"`
					MountPath string `yaml:"mountPath"`
					ReadOnly  bool   `yaml:"readOnly"`
				} `yaml:"volumeMounts"`
			} `yaml:"containers"`
			Volumes []volume `yaml:"volumes"`
		} `yaml:"spec"`
	} `yaml:"template"`
	VolumeClaimTemplates []claim `yaml:"volumeClaimTemplates"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode int    `yaml:"defaultMode"`
	} `yaml:"secret"`
}

type claim struct {
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec any `yaml:"spec"`
}

type serviceSpec struct {
	ClusterIP string            `yaml:"clusterIP"`
	Selector  map[string]string `yaml:"selector"`
	Ports     []struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort string `yaml:"targetPort"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	MaxUnavailable int      `yaml:"maxUnavailable"`
	Selector       selector `yaml:"selector"`
}

func decodeStrict(t *testing.T, n *yaml.Node, v any) {
	t.Helper()
	var b bytes.Buffer
	if err := yaml.NewEncoder(&b).Encode(n); err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(&b)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("spec: %v", err)
	}
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// examples/kubernetes holds a StatefulSet with one pod per shard, the
// config and users from ConfigMaps, passwords from a Secret, state on a
// volume, probes on /healthz, a PodDisruptionBudget and a Service for the
// metrics; the files parse, refer to each other consistently, and the
// config in them loads as calpresence would load it in the pod.
func TestKubernetesExample(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "kubernetes")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	objs := map[string]*k8sObject{} // kind/name
	var kust *k8sObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		for {
			o := &k8sObject{}
			err := dec.Decode(o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "Kustomization" {
				kust = o
				continue
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s: an object without apiVersion, kind or name: %+v", f, o)
			}
			objs[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
	if kust == nil {
		t.Fatalf("no kustomization.yaml")
	}
	for _, r := range kust.Resources {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Errorf("kustomization.yaml names %s: %v", r, err)
		}
	}
	if len(kust.Resources) != len(files)-1 {
		t.Errorf("kustomization.yaml lists %d resources, the directory has %d manifests", len(kust.Resources), len(files)-1)
	}
	get := func(key string) *k8sObject {
		o := objs[key]
		if o == nil {
			t.Fatalf("no %s in examples/kubernetes (have %v)", key, keys(objs))
		}
		return o
	}
	sts := get("StatefulSet/calpresence")
	var ss statefulSetSpec
	decodeStrict(t, &sts.Spec, &ss)
	pod := ss.Template.Spec
	labels := ss.Template.Metadata.Labels
	if !subset(ss.Selector.MatchLabels, labels) {
		t.Errorf("the StatefulSet's selector %v does not match its pods' labels %v", ss.Selector.MatchLabels, labels)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	// Replicas are the shards.
	var shardEnv string
	for _, e := range c.Env {
		if e.Name == "CALPRESENCE_SHARD" {
			shardEnv = e.Value
		}
	}
	sp, err := shard.Parse(shardEnv, "calpresence-"+itoa(ss.Replicas-1))
	if err != nil || sp.N != ss.Replicas || !strings.HasPrefix(shardEnv, "auto/") {
		t.Errorf("CALPRESENCE_SHARD = %q with %d replicas: want auto/%d (%v)", shardEnv, ss.Replicas, ss.Replicas, err)
	}
	if _, err := shard.Parse(shardEnv, "calpresence-"+itoa(ss.Replicas)); err == nil {
		t.Errorf("CALPRESENCE_SHARD = %q accepts more pods than replicas", shardEnv)
	}
	// The args are run's, with the metrics on the port the probes use.
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("args = %v, want run ...", c.Args)
	}
	addr := flagValue(c.Args, "-metrics-addr")
	cfgPath := flagValue(c.Args, "-config")
	if len(c.Ports) != 1 || addr != ":"+itoa(c.Ports[0].ContainerPort) {
		t.Errorf("-metrics-addr %q, container ports %+v: want the one port", addr, c.Ports)
	}
	for name, p := range map[string]*probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet.Path != "/healthz" || len(c.Ports) == 0 || p.HTTPGet.Port != c.Ports[0].Name {
			t.Errorf("%s probe = %+v, want GET /healthz on the metrics port", name, p)
		}
	}
	if pod.TerminationGracePeriodSeconds < 6 {
		t.Errorf("terminationGracePeriodSeconds = %d: the agent needs up to 5 s to remove its publications", pod.TerminationGracePeriodSeconds)
	}
	// Volumes: config and users from ConfigMaps, secrets from the Secret,
	// state from the claim template; what the config names is mounted.
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	root := t.TempDir() // the pod's file system, as far as the config reads it
	materialize := func(mount string, data map[string]string) {
		for k, v := range data {
			p := filepath.Join(root, mount, k)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, v := range pod.Volumes {
		mount, ok := mounts[v.Name]
		if !ok {
			t.Errorf("volume %s is not mounted", v.Name)
			continue
		}
		switch {
		case v.ConfigMap != nil:
			materialize(mount, get("ConfigMap/"+v.ConfigMap.Name).Data)
		case v.Secret != nil:
			s := get("Secret/" + v.Secret.SecretName)
			materialize(mount, s.StringData)
			materialize(mount, s.Data)
		}
	}
	for _, vc := range ss.VolumeClaimTemplates {
		if m, ok := mounts[vc.Metadata.Name]; !ok {
			t.Errorf("volume claim %s is not mounted", vc.Metadata.Name)
		} else {
			os.MkdirAll(filepath.Join(root, m), 0o755)
		}
	}
	for name := range mounts {
		if !slices.ContainsFunc(pod.Volumes, func(v volume) bool { return v.Name == name }) &&
			!slices.ContainsFunc(ss.VolumeClaimTemplates, func(c claim) bool { return c.Metadata.Name == name }) {
			t.Errorf("mount %s has no volume", name)
		}
	}
	// The config, with its absolute paths moved under root.
	cfgFile := filepath.Join(root, cfgPath)
	data, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatalf("the pod's -config %s is in no mounted ConfigMap: %v", cfgPath, err)
	}
	rebase := func(s string) string {
		for _, m := range mounts {
			s = strings.ReplaceAll(s, `"`+m, `"`+filepath.Join(root, m))
		}
		return s
	}
	os.WriteFile(cfgFile, []byte(rebase(string(data))), 0o600)
	usersDir := filepath.Join(root, mounts["users"])
	userFiles, _ := filepath.Glob(filepath.Join(usersDir, "*.toml"))
	for _, f := range userFiles {
		b, _ := os.ReadFile(f)
		os.WriteFile(f, []byte(rebase(string(b))), 0o600)
	}
	cfg, err := config.Load(cfgFile, func(string) string { return "" })
	if err != nil {
		t.Fatalf("the ConfigMap's config does not load:\n%v", err)
	}
	if len(cfg.Users) != len(userFiles) || len(cfg.Users) == 0 || cfg.StateDir != filepath.Join(root, mounts["state"]) {
		t.Errorf("the config has %d users from %d files, state_dir %s; want one a file, the state volume", len(cfg.Users), len(userFiles), cfg.StateDir)
	}
	warnings, errs := cfg.CheckSecrets()
	if len(errs) > 0 || len(warnings) > 0 {
		t.Errorf("the passwords the users name are not all in the Secret's mount: %v %v", errs, warnings)
	}

	// The Service selects the pods and serves the metrics port; the
	// StatefulSet names it.
	svc := get("Service/" + ss.ServiceName)
	var sv serviceSpec
	decodeStrict(t, &svc.Spec, &sv)
	if !subset(sv.Selector, labels) || len(sv.Ports) != 1 || sv.Ports[0].TargetPort != c.Ports[0].Name || sv.ClusterIP != "None" {
		t.Errorf("Service %s = %+v: want a headless service selecting the pods, on the metrics port", ss.ServiceName, sv)
	}
	if svc.Metadata.Annotations["prometheus.io/port"] != itoa(c.Ports[0].ContainerPort) {
		t.Errorf("the Service's prometheus.io/port = %q, want %d", svc.Metadata.Annotations["prometheus.io/port"], c.Ports[0].ContainerPort)
	}
	var pdb pdbSpec
	decodeStrict(t, &get("PodDisruptionBudget/calpresence").Spec, &pdb)
	if !subset(pdb.Selector.MatchLabels, labels) || pdb.MaxUnavailable != 1 {
		t.Errorf("PodDisruptionBudget = %+v: want maxUnavailable 1 over the pods", pdb)
	}
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

func keys(m map[string]*k8sObject) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
