// Entry point of the Swift suite (built and run by bindings/uniffi/test-swift.sh).
runAll(VectorTests.all + ClientTests.all + ErrorTests.all + OAuthTests.all + EventTests.all)
