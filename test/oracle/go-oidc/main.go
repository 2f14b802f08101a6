// The identity-preview oracle: signs each case's payload with an RSA key generated at start, verifies
// it with the real go-oidc v2 verifier (github.com/coreos/go-oidc, Debian's golang-github-coreos-go-oidc-dev),
// and applies kube-apiserver's legacy --oidc-* claim mapping, written here following
// staging/src/k8s.io/apiserver/plugin/pkg/authenticator/token/oidc/oidc.go (kube-apiserver 1.31-1.33).
//
// Built at test time by test/identity-oracle.test.ts with GO111MODULE=off and GOPATH=/usr/share/gocode
// (no module download). One process serves every case: one JSON case per line on stdin, one JSON
// verdict per line on stdout.
package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	oidc "github.com/coreos/go-oidc"
	jose "gopkg.in/square/go-jose.v2"
)

// One case: an identity provider config as EKS passes it to kube-apiserver's --oidc-* flags, and the
// exact payload bytes to sign.
type request struct {
	ID             string            `json:"id"`
	IssuerURL      string            `json:"issuerUrl"`
	ClientID       string            `json:"clientId"`
	UsernameClaim  string            `json:"usernameClaim"`
	UsernamePrefix string            `json:"usernamePrefix"`
	GroupsClaim    string            `json:"groupsClaim"`
	GroupsPrefix   string            `json:"groupsPrefix"`
	RequiredClaims map[string]string `json:"requiredClaims"`
	Payload        string            `json:"payload"`
	// Header, when set, is the exact protected header; the token is then assembled here and signed
	// with RS256 only if the header says so (any other alg gets a placeholder signature: go-oidc
	// refuses it before the signature is looked at).
	Header string `json:"header,omitempty"`
}

// verdict: accepted, rejected (the verifier or the mapping refused the token), skipped (the token's
// iss is not this authenticator's: kube-apiserver answers 401 unless another authenticator takes it),
// unknown (a distributed claim must be fetched over the network), config-error (kube-apiserver refuses
// the flags at start).
type response struct {
	ID       string   `json:"id"`
	Token    string   `json:"token,omitempty"`
	Verdict  string   `json:"verdict"`
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
	Error    string   `json:"error,omitempty"`
}

// staticKeySet verifies with the one generated key (go-oidc's KeySet interface).
type staticKeySet struct{ key *rsa.PublicKey }

func (s staticKeySet) VerifySignature(_ context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt)
	if err != nil {
		return nil, err
	}
	return jws.Verify(s.key)
}

// claims as kube-apiserver holds them (oidc.go `type claims map[string]json.RawMessage`).
type claims map[string]json.RawMessage

func (c claims) unmarshalClaim(name string, v interface{}) error {
	val, ok := c[name]
	if !ok {
		return fmt.Errorf("claim not present")
	}
	return json.Unmarshal([]byte(val), v)
}

func (c claims) hasClaim(name string) bool {
	_, ok := c[name]
	return ok
}

// stringOrArray as in oidc.go: a list of strings, else one string.
type stringOrArray []string

func (s *stringOrArray) UnmarshalJSON(b []byte) error {
	var a []string
	if err := json.Unmarshal(b, &a); err == nil {
		*s = a
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	*s = []string{str}
	return nil
}

// endpoint as in oidc.go (the distributed claim source).
type endpoint struct {
	URL         string `json:"endpoint,omitempty"`
	AccessToken string `json:"access_token,omitempty"`
	JWT         string `json:"JWT,omitempty"`
}

// validateConfig follows kube-apiserver's checks of the legacy flags once turned into a
// JWTAuthenticator (pkg/apis/apiserver/validation/validation.go validateURL, validateAudiences).
func validateConfig(r request) error {
	if r.ClientID == "" {
		return fmt.Errorf("audiences: at least one is required")
	}
	u, err := url.Parse(r.IssuerURL)
	if err != nil {
		return err
	}
	if u.Scheme != "https" {
		return fmt.Errorf("URL scheme must be https")
	}
	if u.User != nil {
		return fmt.Errorf("URL must not contain a username or password")
	}
	if len(u.RawQuery) > 0 {
		return fmt.Errorf("URL must not contain a query")
	}
	if len(u.Fragment) > 0 {
		return fmt.Errorf("URL must not contain a fragment")
	}
	return nil
}

// untrustedIssuer as in oidc.go: the unverified iss, decoded into a typed struct.
func untrustedIssuer(token string) (string, error) {
	if strings.HasPrefix(strings.TrimSpace(token), "{") {
		return "", fmt.Errorf("token is not compact JWT")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("malformed token")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	c := struct {
		Issuer string `json:"iss"`
	}{}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	if c.Issuer == "accounts.google.com" {
		return "https://accounts.google.com", nil
	}
	return c.Issuer, nil
}

type judge struct {
	key    *rsa.PrivateKey
	signer jose.Signer
}

func (j judge) sign(r request) (string, error) {
	if r.Header == "" {
		obj, err := j.signer.Sign([]byte(r.Payload))
		if err != nil {
			return "", err
		}
		return obj.CompactSerialize()
	}
	input := base64.RawURLEncoding.EncodeToString([]byte(r.Header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(r.Payload))
	var h struct {
		Alg interface{} `json:"alg"`
	}
	_ = json.Unmarshal([]byte(r.Header), &h)
	sig := []byte("not-a-signature")
	if h.Alg == "RS256" {
		sum := sha256.Sum256([]byte(input))
		s, err := rsa.SignPKCS1v15(rand.Reader, j.key, crypto.SHA256, sum[:])
		if err != nil {
			return "", err
		}
		sig = s
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (j judge) run(r request) response {
	out := response{ID: r.ID, Groups: []string{}}
	token, err := j.sign(r)
	if err != nil {
		out.Verdict, out.Error = "harness-error", err.Error()
		return out
	}
	out.Token = token
	if err := validateConfig(r); err != nil {
		out.Verdict, out.Error = "config-error", err.Error()
		return out
	}

	// pkg/kubeapiserver/options/authentication.go ToAuthenticationConfig: the legacy flags.
	usernameClaim := r.UsernameClaim
	if usernameClaim == "" {
		usernameClaim = "sub" // the --oidc-username-claim default
	}
	usernamePrefix := r.UsernamePrefix
	if usernamePrefix == "" && usernameClaim != "email" {
		usernamePrefix = r.IssuerURL + "#"
	}
	if usernamePrefix == "-" {
		usernamePrefix = ""
	}

	// AuthenticateToken: hasCorrectIssuer first.
	if iss, err := untrustedIssuer(token); err != nil || iss != r.IssuerURL {
		out.Verdict = "skipped"
		if err != nil {
			out.Error = err.Error()
		}
		return out
	}
	verifier := oidc.NewVerifier(r.IssuerURL, staticKeySet{&j.key.PublicKey}, &oidc.Config{
		ClientID:             r.ClientID,
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  time.Now,
	})
	idToken, err := verifier.Verify(context.Background(), token)
	if err != nil {
		out.Verdict, out.Error = "rejected", "verify token: "+err.Error()
		return out
	}
	// verifyAudience (kube-apiserver's own check after go-oidc's): one audience, the client ID.
	found := false
	for _, a := range idToken.Audience {
		if a == r.ClientID {
			found = true
		}
	}
	if !found {
		out.Verdict, out.Error = "rejected", "audience"
		return out
	}
	var c claims
	if err := idToken.Claims(&c); err != nil {
		out.Verdict, out.Error = "rejected", "parse claims: "+err.Error()
		return out
	}

	// claimResolver.expand, up to the network call: a distributed groups claim leaves the groups
	// (and any check reading that claim) unknown offline.
	pending := ""
	if r.GroupsClaim != "" {
		p, err := expand(r.GroupsClaim, c)
		if err != nil {
			out.Verdict, out.Error = "rejected", "could not expand distributed claims: "+err.Error()
			return out
		}
		pending = p
	}
	unknown := func() response {
		out.Verdict, out.Error = "unknown", "distributed claim "+r.GroupsClaim+" from "+pending
		return out
	}

	// getUsername
	if pending != "" && usernameClaim == r.GroupsClaim {
		return unknown()
	}
	var username string
	if err := c.unmarshalClaim(usernameClaim, &username); err != nil {
		out.Verdict, out.Error = "rejected", fmt.Sprintf("parse username claims %q: %v", usernameClaim, err)
		return out
	}
	if usernameClaim == "email" && c.hasClaim("email_verified") {
		var emailVerified bool
		if err := c.unmarshalClaim("email_verified", &emailVerified); err != nil {
			out.Verdict, out.Error = "rejected", "parse 'email_verified' claim: "+err.Error()
			return out
		}
		if !emailVerified {
			out.Verdict, out.Error = "rejected", "email not verified"
			return out
		}
	}
	if usernamePrefix != "" {
		username = usernamePrefix + username
	}

	// getGroups
	var groups []string
	if r.GroupsClaim != "" && pending == "" {
		if _, ok := c[r.GroupsClaim]; ok {
			var g stringOrArray
			if err := c.unmarshalClaim(r.GroupsClaim, &g); err != nil {
				out.Verdict, out.Error = "rejected", fmt.Sprintf("parse groups claim %q: %v", r.GroupsClaim, err)
				return out
			}
			for _, group := range g {
				groups = append(groups, r.GroupsPrefix+group)
			}
		}
	}

	// required claims (sorted: Go's map order is random, and only the verdict is compared)
	keys := make([]string, 0, len(r.RequiredClaims))
	for k := range r.RequiredClaims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, claim := range keys {
		if pending != "" && claim == r.GroupsClaim {
			return unknown()
		}
		if !c.hasClaim(claim) {
			out.Verdict, out.Error = "rejected", "required claim "+claim+" not present in ID token"
			return out
		}
		var v string
		if err := c.unmarshalClaim(claim, &v); err != nil {
			out.Verdict, out.Error = "rejected", fmt.Sprintf("parse claim %s: %v", claim, err)
			return out
		}
		if v != r.RequiredClaims[claim] {
			out.Verdict, out.Error = "rejected", "required claim "+claim+" value does not match"
			return out
		}
	}
	if pending != "" {
		return unknown()
	}
	out.Verdict, out.Username = "accepted", username
	if groups != nil {
		out.Groups = groups
	}
	return out
}

// expand follows claimResolver.expand and returns the endpoint it would fetch ("" when none).
func expand(claim string, c claims) (string, error) {
	if _, ok := c[claim]; ok {
		return "", nil
	}
	names, ok := c["_claim_names"]
	if !ok {
		return "", nil
	}
	claimToSource := map[string]string{}
	if err := json.Unmarshal([]byte(names), &claimToSource); err != nil {
		return "", fmt.Errorf("oidc: error parsing distributed claim names: %v", err)
	}
	rawSources, ok := c["_claim_sources"]
	if !ok {
		return "", fmt.Errorf("oidc: no claim sources")
	}
	var sources map[string]endpoint
	if err := json.Unmarshal([]byte(rawSources), &sources); err != nil {
		return "", fmt.Errorf("oidc: could not parse claim sources: %v", err)
	}
	src, ok := claimToSource[claim]
	if !ok {
		return "", nil
	}
	ep, ok := sources[src]
	if !ok {
		return "", fmt.Errorf("id token _claim_names contained a source %s missing in _claims_sources", src)
	}
	if ep.URL == "" {
		return "", nil
	}
	return ep.URL, nil
}

func main() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	j := judge{key: key, signer: signer}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	enc := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(1)
		}
		if err := enc.Encode(j.run(r)); err != nil {
			os.Exit(1)
		}
	}
}
