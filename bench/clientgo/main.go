// Command clientgo-bench is the client-go baseline for the Python runtime's
// informer benchmark (see ../clientgo_bench.py, which builds and runs it).
//
// Two phases against one namespace of a real cluster:
//
//  1. memory: start a namespaced SharedInformer (managedFields dropped by a
//     transform, like the Python informer does by default), wait for sync,
//     force GC and compare HeapAlloc before the informer was created and
//     after sync; report bytes per cached object.
//  2. latency: register an UpdateFunc handler, then patch M objects
//     round-robin (bounded concurrency) with the annotation
//     bench/sent-at=<unix nanoseconds>; the handler records now - sent-at.
//     Report p50/p99/max in milliseconds and updates/s.
//
// Output: exactly one JSON object on one line on stdout; logs go to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/features"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

const sentAtKey = "bench/sent-at"

type options struct {
	kubeconfig      string
	namespace       string
	kind            string
	objects         int
	updates         int
	create          bool
	deleteNamespace bool
	concurrency     int
	qps             float64
	burst           int
	contentType     string
	timeout         time.Duration
}

type result struct {
	Impl            string  `json:"impl"`
	Kind            string  `json:"kind"`
	Namespace       string  `json:"namespace"`
	Objects         int     `json:"objects"`
	CachedObjects   int     `json:"cached_objects"`
	HeapBeforeBytes uint64  `json:"heap_before_bytes"`
	HeapAfterBytes  uint64  `json:"heap_after_bytes"`
	BytesPerObject  float64 `json:"bytes_per_object"`
	RSSBeforeBytes  uint64  `json:"rss_before_bytes"`
	RSSAfterBytes   uint64  `json:"rss_after_bytes"`
	SyncSeconds     float64 `json:"sync_s"`
	Updates         int     `json:"updates"`
	Observed        int     `json:"observed"`
	P50Ms           float64 `json:"p50_ms"`
	P99Ms           float64 `json:"p99_ms"`
	MaxMs           float64 `json:"max_ms"`
	MeanMs          float64 `json:"mean_ms"`
	PatchP50Ms      float64 `json:"patch_p50_ms"`
	PatchP99Ms      float64 `json:"patch_p99_ms"`
	UpdatesPerS     float64 `json:"updates_per_s"`
	UpdateSeconds   float64 `json:"update_s"`
	Concurrency     int     `json:"concurrency"`
	ContentType     string  `json:"content_type"`
	WatchList       bool    `json:"watch_list"`
	GoVersion       string  `json:"go_version"`
	ClientGoVersion string  `json:"client_go_version"`
	Error           string  `json:"error,omitempty"`
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "path to kubeconfig (default $KUBECONFIG)")
	flag.StringVar(&o.namespace, "namespace", "bench-clientgo", "namespace holding the objects")
	flag.StringVar(&o.kind, "kind", "configmaps", "configmaps or deployments")
	flag.IntVar(&o.objects, "objects", 10000, "number of objects (bench-000000 …) expected / created")
	flag.IntVar(&o.updates, "updates", 5000, "number of patches in the latency phase (0 skips it)")
	flag.BoolVar(&o.create, "create", false, "create the namespace and any missing objects first")
	flag.BoolVar(&o.deleteNamespace, "delete-namespace", false, "delete the namespace at the end (only with --create)")
	flag.IntVar(&o.concurrency, "concurrency", 32, "requests in flight when creating and patching")
	flag.Float64Var(&o.qps, "qps", 5000, "client-side QPS limit")
	flag.IntVar(&o.burst, "burst", 10000, "client-side burst")
	flag.StringVar(&o.contentType, "content-type", "json", "json or protobuf (wire format of the client)")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "overall deadline")
	flag.Parse()

	res, err := run(o)
	if err != nil {
		res.Error = err.Error()
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	if err != nil {
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[clientgo-bench %s] %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func objName(i int) string { return fmt.Sprintf("bench-%06d", i) }

// liveHeap forces full collections and returns the live heap.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// rss is the resident set size from /proc/self/status (0 where unavailable).
func rss() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func clientGoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/client-go" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// dropManagedFields mirrors the Python informer's default transform.
func dropManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func run(o options) (result, error) {
	res := result{
		Impl: "client-go", Kind: o.kind, Namespace: o.namespace, Objects: o.objects,
		Updates: o.updates, Concurrency: o.concurrency, ContentType: o.contentType,
		WatchList:       features.FeatureGates().Enabled(features.WatchListClient),
		GoVersion:       runtime.Version(),
		ClientGoVersion: clientGoVersion(),
	}
	if o.kind != "configmaps" && o.kind != "deployments" {
		return res, fmt.Errorf("--kind must be configmaps or deployments, not %q", o.kind)
	}
	if o.kubeconfig == "" {
		return res, errors.New("--kubeconfig (or $KUBECONFIG) is required")
	}
	if o.concurrency < 1 {
		o.concurrency = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return res, err
	}
	cfg.QPS = float32(o.qps)
	cfg.Burst = o.burst
	switch o.contentType {
	case "json":
		cfg.ContentType = "application/json"
	case "protobuf":
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	default:
		return res, fmt.Errorf("--content-type must be json or protobuf, not %q", o.contentType)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return res, err
	}
	return benchmark(ctx, cs, o, res)
}

// benchmark runs both phases with an existing clientset (tests pass a fake).
func benchmark(ctx context.Context, cs kubernetes.Interface, o options, res result) (result, error) {
	if o.create {
		if o.deleteNamespace { // registered first: clean up even if creation fails
			defer func() {
				logf("deleting namespace %s", o.namespace)
				dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer dcancel()
				if err := cs.CoreV1().Namespaces().Delete(dctx, o.namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					logf("delete namespace: %v", err)
					return
				}
				// Wait until it is gone, so that a following run can create it again.
				for {
					_, err := cs.CoreV1().Namespaces().Get(dctx, o.namespace, metav1.GetOptions{})
					if apierrors.IsNotFound(err) {
						logf("namespace %s deleted", o.namespace)
						return
					}
					select {
					case <-dctx.Done():
						logf("namespace %s still terminating after 2m", o.namespace)
						return
					case <-time.After(250 * time.Millisecond):
					}
				}
			}()
		}
		if err := createObjects(ctx, cs, o); err != nil {
			return res, err
		}
	}

	// ---- memory phase ----
	heapBefore := liveHeap()
	res.RSSBeforeBytes = rss()
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(o.namespace))
	var informer cache.SharedIndexInformer
	if o.kind == "configmaps" {
		informer = factory.Core().V1().ConfigMaps().Informer()
	} else {
		informer = factory.Apps().V1().Deployments().Informer()
	}
	if err := informer.SetTransform(dropManagedFields); err != nil {
		return res, err
	}
	stop := make(chan struct{})
	defer close(stop)
	t0 := time.Now()
	factory.Start(stop)
	// cache.WaitForCacheSync polls every 100ms, which would quantise sync_s.
	if !waitFor(ctx, informer.HasSynced) {
		return res, errors.New("informer did not sync before the deadline")
	}
	res.SyncSeconds = time.Since(t0).Seconds()
	heapAfter := liveHeap()
	res.RSSAfterBytes = rss()
	cached := len(informer.GetStore().ListKeys())
	res.HeapBeforeBytes, res.HeapAfterBytes, res.CachedObjects = heapBefore, heapAfter, cached
	if cached > 0 {
		res.BytesPerObject = math.Round(float64(int64(heapAfter)-int64(heapBefore))/float64(cached)*10) / 10
	}
	logf("synced %d %s in %.2fs; heap %d -> %d bytes (%.0f B/object)", cached, o.kind, res.SyncSeconds, heapBefore, heapAfter, res.BytesPerObject)
	if cached < o.objects {
		logf("warning: only %d objects cached, %d expected (use --create?)", cached, o.objects)
	}

	// ---- latency phase ----
	if o.updates <= 0 {
		return res, nil
	}
	if cached == 0 {
		return res, errors.New("no objects to update")
	}
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, o.updates)
		lastSeen  time.Time
		done      = make(chan struct{})
	)
	sentAt := func(obj any) string {
		if m, ok := obj.(metav1.Object); ok {
			return m.GetAnnotations()[sentAtKey]
		}
		return ""
	}
	reg, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) {
			now := time.Now()
			s := sentAt(newObj)
			if s == "" || s == sentAt(oldObj) {
				return // not one of our patches (e.g. a status update)
			}
			ns, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if len(latencies) >= o.updates {
				return
			}
			latencies = append(latencies, now.Sub(time.Unix(0, ns)))
			lastSeen = now
			if len(latencies) == o.updates {
				close(done)
			}
		},
	})
	if err != nil {
		return res, err
	}
	if !waitFor(ctx, reg.HasSynced) {
		return res, errors.New("handler did not sync before the deadline")
	}

	// Patch the cached objects round-robin, sorted by name. Prefer our own
	// bench-NNNNNN objects so that e.g. kube-root-ca.crt (which every
	// namespace gets, and which its controller rewrites) is left alone.
	keys := informer.GetStore().ListKeys()
	sort.Strings(keys)
	var names, others []string
	for _, k := range keys {
		_, n, _ := cache.SplitMetaNamespaceKey(k)
		if strings.HasPrefix(n, "bench-") {
			names = append(names, n)
		} else if n != "kube-root-ca.crt" {
			others = append(others, n)
		}
	}
	if len(names) == 0 {
		names = others
	}
	if len(names) == 0 {
		return res, errors.New("no objects to update")
	}
	logf("patching %d objects round-robin, %d patches, %d in flight", len(names), o.updates, o.concurrency)
	patchRTT := make([]time.Duration, o.updates) // per patch: request -> response
	patchOne := func(i int, name string) error {
		sent := time.Now()
		defer func() { patchRTT[i] = time.Since(sent) }()
		body := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, sentAtKey, strconv.FormatInt(sent.UnixNano(), 10))
		var err error
		if o.kind == "configmaps" {
			_, err = cs.CoreV1().ConfigMaps(o.namespace).Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{})
		} else {
			_, err = cs.AppsV1().Deployments(o.namespace).Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{})
		}
		return err
	}
	start := time.Now()
	var patchErrs atomic.Int64
	var firstErr onceErr
	forEach(o.updates, o.concurrency, func(i int) {
		if err := patchOne(i, names[i%len(names)]); err != nil {
			patchErrs.Add(1)
			firstErr.set(err)
		}
	})
	sendDone := time.Since(start)
	logf("sent %d patches in %.2fs (%d errors)", o.updates, sendDone.Seconds(), patchErrs.Load())
	if n := patchErrs.Load(); n > 0 {
		return res, fmt.Errorf("%d patches failed, first: %v", n, firstErr.get())
	}
	select {
	case <-done:
	case <-ctx.Done():
		logf("deadline reached before all updates were observed")
	}
	mu.Lock()
	lat := append([]time.Duration(nil), latencies...)
	end := lastSeen
	mu.Unlock()
	res.Observed = len(lat)
	if len(lat) == 0 {
		return res, errors.New("no updates observed")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	res.P50Ms = ms(percentile(lat, 0.50))
	res.P99Ms = ms(percentile(lat, 0.99))
	res.MaxMs = ms(lat[len(lat)-1])
	res.MeanMs = ms(sum / time.Duration(len(lat)))
	sort.Slice(patchRTT, func(i, j int) bool { return patchRTT[i] < patchRTT[j] })
	res.PatchP50Ms = ms(percentile(patchRTT, 0.50))
	res.PatchP99Ms = ms(percentile(patchRTT, 0.99))
	res.UpdateSeconds = math.Round(end.Sub(start).Seconds()*1e3) / 1e3
	if res.UpdateSeconds > 0 {
		res.UpdatesPerS = math.Round(float64(len(lat))/end.Sub(start).Seconds()*10) / 10
	}
	if res.Observed < o.updates {
		return res, fmt.Errorf("observed %d of %d updates", res.Observed, o.updates)
	}
	logf("latency p50 %.2fms p99 %.2fms max %.2fms, %.0f updates/s (patch round trip p50 %.2fms p99 %.2fms)",
		res.P50Ms, res.P99Ms, res.MaxMs, res.UpdatesPerS, res.PatchP50Ms, res.PatchP99Ms)
	return res, nil
}

// onceErr keeps the first error reported by concurrent workers.
type onceErr struct {
	mu  sync.Mutex
	err error
}

func (e *onceErr) set(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		e.err = err
	}
}

func (e *onceErr) get() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// waitFor polls cond every millisecond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) bool {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// percentile uses the nearest-rank method on sorted data.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	return sorted[rank]
}

// forEach runs fn(0..n-1) with at most `workers` calls in flight.
func forEach(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func createObjects(ctx context.Context, cs kubernetes.Interface, o options) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace: %w", err)
	}
	labels := map[string]string{"app": "bench-clientgo"}
	start := time.Now()
	var created, existed, failed atomic.Int64
	var firstErr onceErr
	forEach(o.objects, o.concurrency, func(i int) {
		meta := metav1.ObjectMeta{Name: objName(i), Labels: labels}
		var err error
		if o.kind == "configmaps" {
			_, err = cs.CoreV1().ConfigMaps(o.namespace).Create(ctx, &corev1.ConfigMap{
				ObjectMeta: meta,
				Data:       map[string]string{"key": "value", "index": strconv.Itoa(i)},
			}, metav1.CreateOptions{})
		} else {
			_, err = cs.AppsV1().Deployments(o.namespace).Create(ctx, &appsv1.Deployment{
				ObjectMeta: meta,
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](0), // no ReplicaSet/Pod churn
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{
							Name: "app", Image: "registry.invalid/bench:1",
						}}},
					},
				},
			}, metav1.CreateOptions{})
		}
		switch {
		case err == nil:
			created.Add(1)
		case apierrors.IsAlreadyExists(err):
			existed.Add(1)
		default:
			failed.Add(1)
			firstErr.set(err)
		}
	})
	logf("create: %d created, %d already existed, %d failed in %.2fs", created.Load(), existed.Load(), failed.Load(), time.Since(start).Seconds())
	if failed.Load() > 0 {
		return fmt.Errorf("%d creates failed, first: %v", failed.Load(), firstErr.get())
	}
	return nil
}
