// Command shortcert gives an identity's certificate authenticator a certificate that expires soon, for tests of
// certificate renewal: controller v1.7.2 signs identity certificates for one year and has no setting to shorten
// that (openziti/ziti issue 3174). It re-signs the authenticator's current certificate (same subject, same
// public key) with the network's signing certificate and a short lifetime, stores it in the stopped controller's
// database in place of the old one (through the controller's own stores, so indexes stay consistent) and prints
// the new certificate chain.
//
// Usage: shortcert <ctrl.db> <identity name> <signing cert PEM file> <signing key PEM file> <seconds>
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openziti/storage/boltz"
	"github.com/openziti/ziti/controller/change"
	"github.com/openziti/ziti/controller/command"
	"github.com/openziti/ziti/controller/db"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "shortcert: "+format+"\n", args...)
	os.Exit(1)
}

func readPem(file, kind string) *pem.Block {
	data, err := os.ReadFile(file)
	if err != nil {
		fail("read %s: %v", file, err)
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			fail("no %s block in %s", kind, file)
		}
		if strings.Contains(block.Type, kind) {
			return block
		}
	}
}

func parseKey(der []byte) crypto.Signer {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k.(crypto.Signer)
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k
	}
	fail("unparsable signing key")
	return nil
}

func main() {
	if len(os.Args) != 6 {
		fail("usage: shortcert <ctrl.db> <identity name> <signing cert> <signing key> <seconds>")
	}
	dbFile, name, signerCertFile, signerKeyFile := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	seconds, err := strconv.Atoi(os.Args[5])
	if err != nil || seconds <= 0 {
		fail("seconds must be a positive integer")
	}
	signerCert, err := x509.ParseCertificate(readPem(signerCertFile, "CERTIFICATE").Bytes)
	if err != nil {
		fail("signing cert: %v", err)
	}
	signerKey := parseKey(readPem(signerKeyFile, "PRIVATE KEY").Bytes)

	boltDb, err := db.Open(dbFile)
	if err != nil {
		fail("open %s: %v", dbFile, err)
	}
	defer func() { _ = boltDb.Close() }()
	stores, err := db.InitStores(boltDb, command.NoOpRateLimiter{}, nil)
	if err != nil {
		fail("stores: %v", err)
	}

	var chain string
	ctx := change.New().SetChangeAuthorType("test.shortcert").NewMutateContext()
	err = boltDb.Update(ctx, func(ctx boltz.MutateContext) error {
		tx := ctx.Tx()
		ids, _, err := stores.Identity.QueryIds(tx, fmt.Sprintf(`name = "%s"`, name))
		if err != nil || len(ids) != 1 {
			return fmt.Errorf("identity %q not found (%v)", name, err)
		}
		authIds, _, err := stores.Authenticator.QueryIds(tx, fmt.Sprintf(`identity = "%s" and method = "cert"`, ids[0]))
		if err != nil || len(authIds) != 1 {
			return fmt.Errorf("no single cert authenticator for %q (%v)", name, err)
		}
		auth, err := stores.Authenticator.LoadById(tx, authIds[0])
		if err != nil {
			return err
		}
		certAuth := auth.ToCert()
		if certAuth == nil {
			return fmt.Errorf("authenticator %s is not a cert authenticator", auth.Id)
		}
		rest := []byte(certAuth.Pem)
		block, rest := pem.Decode(rest)
		if block == nil {
			return fmt.Errorf("authenticator %s holds no certificate", auth.Id)
		}
		current, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return err
		}
		serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		template := &x509.Certificate{
			SerialNumber: serial,
			Subject:      current.Subject,
			NotBefore:    time.Now().Add(-time.Minute),
			NotAfter:     time.Now().Add(time.Duration(seconds) * time.Second),
			KeyUsage:     current.KeyUsage,
			ExtKeyUsage:  current.ExtKeyUsage,
		}
		der, err := x509.CreateCertificate(rand.Reader, template, signerCert, current.PublicKey, signerKey)
		if err != nil {
			return err
		}
		sum := sha1.Sum(der)
		chain = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) + string(rest)
		certAuth.Pem = chain
		certAuth.Fingerprint = hex.EncodeToString(sum[:])
		return stores.Authenticator.Update(ctx, auth, boltz.MapFieldChecker{
			db.FieldAuthenticatorCertPem:         struct{}{},
			db.FieldAuthenticatorCertFingerprint: struct{}{},
			"fingerprint":                        struct{}{},
		})
	})
	if err != nil {
		fail("%v", err)
	}
	fmt.Print(chain)
}
